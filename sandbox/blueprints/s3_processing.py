# mypy: disable-error-code="no-untyped-def"
import hashlib
import os
import urllib.parse

# /tmp is the only writable place (512 MB by default). It survives between warm invocations of
# the same execution environment, so clean up what you do not want to keep.
TMP = "/tmp"


def lambda_handler(event, context):
    results = []
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        size = record["s3"]["object"]["size"]
        # There is no network in the sandbox, so pretend to download: write `size` bytes.
        local = os.path.join(TMP, os.path.basename(key))
        with open(local, "wb") as fh:
            fh.write(os.urandom(min(size, 5 * 1024 * 1024)))
        with open(local, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        thumb = local + ".thumb"
        with open(thumb, "wb") as fh:
            fh.write(digest.encode())
        print(f"processed s3://{bucket}/{key}: {os.path.getsize(local)} bytes")
        os.remove(local)
        results.append({"key": key, "thumbnail": f"thumbnails/{os.path.basename(thumb)}"})
    print("files left in /tmp:", sorted(os.listdir(TMP)))
    return {"processed": results}
