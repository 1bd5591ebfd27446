"""What the compare_* scripts share: the manifest's transcribed files, callbot's file-mode
transcript of one file, the key two transcripts are compared on (words for English, characters
for Mandarin), and the per-file report and totals."""
import csv, json, os, re, subprocess

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


def transcribed_files(manifest):
    """(name, path) of each manifest row that has a reference transcript."""
    base = os.path.dirname(os.path.abspath(manifest))
    for row in csv.DictReader(open(manifest, encoding="utf-8")):
        if row.get("transcript", "").strip():
            yield row["file"], os.path.join(base, row["file"])


class Tally:
    """Compares a reference decoder's transcript with callbot's, file by file, and prints the totals."""

    def __init__(self, lang, reference):
        self.key = comparison_key(lang)
        self.reference = reference
        self.same_words = self.same_text = self.total = 0

    def add(self, name, ref, ours, note=""):
        match = self.key(ref) == self.key(ours)
        exact = ref.strip() == ours.strip()
        self.same_words += match
        self.same_text += exact
        self.total += 1
        print(f"{'same' if exact else 'same words' if match else 'DIFF'}  {name}{note}")
        if not exact:
            width = max(len(self.reference), len("callbot")) + 2  # the two texts aligned
            print(f"    {(self.reference + ':').ljust(width)}{ref}\n    {'callbot:'.ljust(width)}{ours}")

    def summary(self):
        print(f"same words: {self.same_words}/{self.total}; "
              f"same text, punctuation and case included: {self.same_text}/{self.total}")
