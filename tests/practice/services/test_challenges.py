"""Code challenges, the web's side: saving a submission, and grading it on a real Celery worker."""

import time

import pytest

from learn.practice.models import SubmissionStatus
from learn.practice.services.challenges import submission_create
from learn.practice.services.grading import PracticeError
from tests.practice.factories import ECHO_SOLUTION, code_question


def test_empty_code_is_refused(learner, db):
    with pytest.raises(PracticeError):
        submission_create(user=learner, version=code_question(), code="   ")


@pytest.mark.integration
def test_run_tests_is_graded_by_a_real_celery_worker(celery_worker_process, learner):
    version = code_question()
    submission = submission_create(user=learner, version=version, code=ECHO_SOLUTION)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        submission.refresh_from_db()
        if submission.is_done:
            break
        time.sleep(0.2)
    assert submission.status == SubmissionStatus.PASSED, submission.error
    assert [r.passed for r in submission.results.all()] == [True, True]
