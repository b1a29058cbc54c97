"""
A Flask (Werkzeug) upstream for end-to-end tests: every request is recorded
and answered with what Flask read of it (the method it routed, the path, the
query, the form fields, the method an HTML-form app takes from `_method`, and
the id its int converter reads in /ledger/<int:id>), behind the method
rewrite middleware of Flask's snippet 38 (the method named by a
`__METHOD_OVERRIDE__` query parameter, whatever the request's own),
so a test sees the framework's own reading, not a guess at it. It prints its
port, then serves until killed. GET /_calls lists the requests recorded.
"""
import json
import sys

from flask import Flask, jsonify, request
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

app = Flask(__name__)
calls = []


class MethodRewriteMiddleware:
    """Flask snippet 38 (flask.pocoo.org/snippets/38), as apps still copy it: the query's
    __METHOD_OVERRIDE__ is the method, on a GET as on a POST (url_decode is Request.args now)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if "METHOD_OVERRIDE" in environ.get("QUERY_STRING", ""):
            method = Request(environ).args.get("__METHOD_OVERRIDE__")
            if method:
                environ["REQUEST_METHOD"] = method
        return self.wsgi_app(environ, start_response)


app.wsgi_app = MethodRewriteMiddleware(app.wsgi_app)


@app.get("/_calls")
def list_calls():
    return jsonify(calls)


@app.delete("/ledger/<int:id>")
def delete_entry(id):
    # Werkzeug's int converter: what an app that deletes entry `id` deletes.
    read = {"method": request.method, "path": request.path, "args": {}, "form": {}, "id": id}
    calls.append(read)
    return jsonify(read)


def json_reading():
    """The body as an app that parses it as JSON whatever its Content-Type reads it (Django's
    json.loads(request.body), Flask's get_json(force=True), FastAPI on a body without a Content-Type):
    Python's json on the bytes, given back as JSON text (NaN stays NaN, an integer as written); None if not JSON.
    Read before the form: the form is then parsed from the cached bytes."""
    try:
        return json.dumps(json.loads(request.get_data()))
    except ValueError:
        return None


@app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def echo(path):
    as_json = json_reading()
    # The usual pattern of an app whose HTML forms cannot send DELETE: the method is the form's `_method`.
    method = request.form.get("_method", request.method).upper()
    read = {
        "method": method,
        "path": request.path,
        "args": {k: request.args.getlist(k) for k in request.args},
        "form": {k: request.form.getlist(k) for k in request.form},
        "json": as_json,
    }
    calls.append(read)
    return jsonify(read)


if __name__ == "__main__":
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(json.dumps({"port": server.port}), flush=True)
    sys.stdout.flush()
    server.serve_forever()
