"""What the compare_* scripts share: callbot's file-mode transcript of one file, and the key two
transcripts are compared on (words for English, characters for Mandarin)."""
import json, re, subprocess

# The prompt callbot gives Whisper for Mandarin (src/asr/engine.rs), for references to use too.
ZH_PROMPT = "以下是普通话的句子。"


def words(text):
    return re.sub(r"[^\w]+", " ", text.lower()).split()


def comparison_key(lang):
    """Words, or for Mandarin the characters without punctuation or spaces."""
    return (lambda t: "".join(words(t))) if lang == "zh" else words


def callbot_text(callbot, path, lang, model=None, threads=None):
    """`callbot transcribe --json` of one file, its text."""
    cmd = [callbot, "transcribe", "--json", "--lang", lang]
    if model:
        cmd += ["--model", model]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd + [path], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["text"]
