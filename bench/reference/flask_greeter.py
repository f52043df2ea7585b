"""The classic way to build the greeter: one small Flask app per service, same JSON."""

from flask import Flask, jsonify, request

GREETINGS = {
    "en": "Hello, {name}! Welcome to the city.",
    "fr": "Bonjour, {name} ! Bienvenue dans la ville.",
}

app = Flask(__name__)
app.json.sort_keys = False


@app.get("/api/greeter/greet")
def greet():
    name = request.args.get("name", "").strip()
    lang = request.args.get("lang", "en")
    if not name or len(name) > 100 or lang not in GREETINGS:
        return jsonify(error={"code": "invalid", "message": "Bad name or language."}), 400
    return jsonify(message=GREETINGS[lang].format(name=name), lang=lang)
