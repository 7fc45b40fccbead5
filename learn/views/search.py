from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from lambdalab.http import HtmxHttpRequest
from learn.selectors.search import search


@require_GET
@vary_on_headers("HX-Request")
def search_page(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    results = search(query=query) if query else []
    context = {
        "query": query,
        "lessons": [r for r in results if r.kind == "lesson"],
        "questions": [r for r in results if r.kind == "question"],
    }
    template = "learn/search.html#results" if request.htmx else "learn/search.html"
    return render(request, template, context)
