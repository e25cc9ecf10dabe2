#!/usr/bin/env -S sh -c 'exec "$(dirname "$0")/../.venv/bin/python" "$0" "$@"'
"""Reference fixtures for tests/test_text_io.cpp, from Hugging Face and the safetensors library.

Run after tools/make_venv.sh (it needs transformers, ftfy and safetensors from the venv):

    tools/text_io_reference.py [--vocab ../shared/data/clip/bpe_simple_vocab_16e6.txt.gz]

Writes to tests/fixtures/text_io/:
  clip_tokenizer_golden.json   generated strings with their token ids (no SOT/EOT) from
                               (a) OpenAI's simple_tokenizer cleaning, written out below
                                   (ftfy.fix_text, html.unescape twice, whitespace, lower),
                                   with Hugging Face's CLIPTokenizer.bpe for the merges, and
                               (b) Hugging Face CLIPTokenizer itself (slow tokenizer, with
                                   ftfy installed), recorded as "hf" only where it differs.
                               tailor follows (a); the test counts agreement with (b).
  python_written_numpy.safetensors, python_written_torch.safetensors
                               every dtype the library writes (BF16 through torch, the
                               unsigned types through numpy), values from value_pattern().
  tailor_written_check.json    what the safetensors library reads back from
                               tailor_written.safetensors (which the C++ test writes and
                               compares byte for byte), when that file exists.

The CLIPTokenizer is built offline from OpenAI's merges file: merges.txt is its lines
1..48894, vocab.json is bytes_to_unicode's characters, the same with </w>, the merges
joined, then <|startoftext|> and <|endoftext|>.
"""
import argparse
import gzip
import html
import json
import os
import random
import tempfile

import ftfy
import numpy as np
import regex
import safetensors
import safetensors.numpy
import safetensors.torch
import torch
import transformers
from transformers import CLIPTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "text_io")
MERGE_COUNT = 49152 - 256 - 2  # 48894


def bytes_to_unicode():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    characters = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            characters.append(256 + extra)
            extra += 1
    return dict(zip(printable, [chr(c) for c in characters]))


def build_hf_tokenizer(vocab_gz, workdir):
    lines = gzip.open(vocab_gz).read().decode("utf-8").split("\n")
    merges = lines[1 : MERGE_COUNT + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    vocab_path = os.path.join(workdir, "vocab.json")
    merges_path = os.path.join(workdir, "merges.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False)
    with open(merges_path, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = CLIPTokenizer(vocab_path, merges_path)
    assert tokenizer.fix_text is not None, "ftfy must be installed so CLIPTokenizer uses it"
    return tokenizer


PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)


def openai_ids(tokenizer, text):
    """OpenAI simple_tokenizer.encode: its cleaning, then BPE through the same merges."""
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r"\s+", " ", text).strip().lower()
    byte_encoder = bytes_to_unicode()
    ids = []
    for piece in PATTERN.findall(text):
        mapped = "".join(byte_encoder[b] for b in piece.encode("utf-8"))
        ids.extend(tokenizer.encoder[t] for t in tokenizer.bpe(mapped).split(" "))
    return ids


def hf_ids(tokenizer, text):
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == 49406 and ids[-1] == 49407
    return ids[1:-1]


WORDS = """a photo of the dog cat bird plane car ship truck horse deer frog small large
photograph picture drawing sketch painting rendering bright dark blurry origami toy plastic
black white red green blue itap aquarium_fish maple_tree sweet_pepper lawn-mower
tyrannosaurus hippopotamus the-quick brown fox jumps over lazy""".split()

UNICODE_SAMPLES = [
    "café", "naïve", "Ñandú", "Ærøskøbing", "Straße", "STRASSE", "İstanbul", "ıi", "ΟΔΟΣ",
    "ὈΔΥΣΣΕΎΣ", "σοφία", "ΣΑΣ ΣΑΣ.", "Москва", "Ёлка", "日本語のテキスト", "中文字符", "한국어",
    "العربية", "עברית", "हिन्दी", "ภาษาไทย", "ქართული", "Ελληνικά", "👍🏽", "👨‍👩‍👧", "🇫🇷🇩🇪",
    "e\u0301cole", "A\u030a", "ＡＢＣ１２３", "ｶﾀｶﾅ", "ﬁne ﬂow", "ĳs", "x\u00a0y", "x\u3000y",
    "tab\there", "new\nline", "cr\r\nlf", "zero\u200bwidth", "∑∫√∞≈≠", "€£¥₹₿", "½ ¾ ²",
    "Ⅻ ⅷ", "①②③", "٣٤٥", "१२३", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟙𝟚𝟛", "ǅemal", "ǈ", "Ǳ", "ŉ", "ſtop it'ſ",
    "«quoted»", "„Anführung“", "‘single’ “double”", "don’t", "—dash–", "…", "·•·",
    "\u00ad soft hyphen", "ℓ", "ℌ", "K", "Ω", "Å",
]

ENTITY_SAMPLES = [
    "Tom &amp; Jerry", "&lt;b&gt;bold&lt;/b&gt;", "&quot;quoted&quot;", "it&#39;s", "it&#x27;s",
    "caf&eacute;", "&EACUTE;COLE", "na&iuml;ve", "5&nbsp;km", "&copy; 2020", "&reg;&trade;",
    "AT&T", "R&D", "fish&chips", "&amp", "&ampx", "&notit;", "&not it", "&hellip;",
    "&mdash;&ndash;", "&lsquo;hi&rsquo;", "&ldquo;hi&rdquo;", "&#8364;", "&#x20AC;", "&#128512;",
    "&#0;", "&#65;&#66;&#67;", "&#x41&#x42", "&#147;smart&#148;", "&euro;5", "&frac12; cup",
    "&deg;C", "&micro;m", "&szlig;", "&SZLIG;", "&amp;amp;", "&amp;lt;", "&amp;amp;amp;",
    "&lt;not a tag", "&gt;&gt;&gt;", "x &lt; y &amp;&amp; z", "&#9;tab", "&#x1F600;",
    "&#xD800;", "&#99999999;", "&#1;", "&#128;", "&nbsp;&nbsp;", "&apos;", "&unknownentity;",
]

PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["...", "!!!", "?!", "--", "''", "``", "©", "®", "§", "¶"]

CONTRACTIONS = [
    "don't", "DON'T", "I'm", "we've", "they'll", "she'd", "it's", "IT'S", "you're", "O'Neil",
    "rock'n'roll", "'tis", "y'all", "can't've", "'s", "''s", "'''", "x'", "'ll've'd",
]


def random_word(rng, letters, low, high):
    return "".join(rng.choice(letters) for _ in range(rng.randint(low, high)))


def generate(rng):
    texts = []
    # CLIP prompts and plain sentences
    for _ in range(40):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 12))]
        sep = rng.choice([" ", "  ", " ", "\t", " \n "])
        text = sep.join(words)
        if rng.random() < 0.5:
            text = text.capitalize()
        if rng.random() < 0.6:
            text += rng.choice([".", "!", "?", "...", "", ","])
        texts.append(text)
    # punctuation runs
    for _ in range(30):
        run = "".join(rng.choice(PUNCTUATION) for _ in range(rng.randint(1, 40)))
        texts.append(rng.choice(["", "a", "dog "]) + run + rng.choice(["", "b", " cat"]))
    # very long words
    for length in [40, 77, 100, 150, 300, 600]:
        texts.append(random_word(rng, "abcdefghijklmnopqrstuvwxyz", length, length))
        texts.append(random_word(rng, "aeiou", length, length))
        texts.append("ab" * (length // 2))
    texts.append("supercalifragilisticexpialidocious" * 4)
    texts.append("pneumonoultramicroscopicsilicovolcanoconiosis")
    texts.append("x" * 1000)
    texts.append("é" * 200)
    texts.append("日本" * 100)
    texts.append("!" * 300)
    # numbers
    for _ in range(25):
        kind = rng.randint(0, 5)
        if kind == 0:
            texts.append(str(rng.randint(0, 10 ** rng.randint(1, 18))))
        elif kind == 1:
            texts.append(f"{rng.uniform(-1000, 1000):.{rng.randint(1, 6)}f}")
        elif kind == 2:
            texts.append(f"{rng.randint(1, 10**9):,}")
        elif kind == 3:
            texts.append(f"{rng.randint(1, 99)}{rng.choice(['st', 'nd', 'rd', 'th', 'k', 'px', '%', 'mm'])}")
        elif kind == 4:
            texts.append(f"{rng.randint(1900, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        else:
            texts.append(f"v{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}-rc{rng.randint(1, 9)}")
    # contractions
    texts.extend(CONTRACTIONS)
    for _ in range(15):
        texts.append(f"{rng.choice(WORDS)}{rng.choice(CONTRACTIONS)} {rng.choice(WORDS)}")
    # HTML entities
    texts.extend(ENTITY_SAMPLES)
    for _ in range(15):
        texts.append(f"{rng.choice(WORDS)} {rng.choice(ENTITY_SAMPLES)} {rng.choice(WORDS)}")
    # Unicode
    texts.extend(UNICODE_SAMPLES)
    pool = "".join(UNICODE_SAMPLES) + "abcdefgh 0123 .,!?'"
    for _ in range(50):
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 30))))
    # markers and edge cases
    texts.extend([
        "", " ", "   \t\n ", "<|startoftext|>", "<|endoftext|>", "a<|endoftext|>b",
        "hello <|endoftext|> world", "<|ENDOFTEXT|>", "!<|endoftext|>", "</w>", "a</w>b",
        "\x1b[31mred\x1b[0m", "ctrl\x00\x01\x7fchars", "bom\ufeffhere", "\u2028\u2029",
    ])
    return texts


def make_tokenizer_fixture(vocab_gz):
    rng = random.Random(20240607)
    with tempfile.TemporaryDirectory() as workdir:
        tokenizer = build_hf_tokenizer(vocab_gz, workdir)
        cases = []
        skipped = 0
        for text in generate(rng):
            # ftfy's mojibake repair is not reproduced by tailor: leave out strings it changes.
            if ftfy.fix_text(text) != ftfy.fix_text(text, fix_encoding=False):
                skipped += 1
                continue
            case = {"text": text, "ids": openai_ids(tokenizer, text)}
            hf = hf_ids(tokenizer, text)
            if hf != case["ids"]:
                case["hf"] = hf
            cases.append(case)
    agree = sum(1 for c in cases if "hf" not in c)
    fixture = {
        "generator": "tools/text_io_reference.py",
        "versions": {"transformers": transformers.__version__, "ftfy": ftfy.__version__,
                     "regex": regex.__version__},
        "cases": cases,
    }
    path = os.path.join(OUT, "clip_tokenizer_golden.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {len(cases)} strings ({skipped} left out for mojibake repair), "
          f"Hugging Face agrees with OpenAI's cleaning on {agree}")


# Values shared with tests/test_text_io.cpp: element i of every fixture tensor.
def value_pattern(dtype, n):
    i = np.arange(n)
    if dtype == "bool":
        return (i % 3 == 0)
    if dtype in ("uint8", "uint16", "uint32", "uint64"):
        return (i * 37 % 101).astype(dtype)
    if dtype in ("int8", "int16", "int32", "int64"):
        return (i * 37 % 101 - 50).astype(dtype)
    return ((i % 17) - 8) * 0.375  # exact in every float format


def python_written():
    shapes = {"bool": [2, 3], "uint8": [7], "int8": [3, 2], "int16": [2, 2, 2], "uint16": [5],
              "int32": [4, 3], "uint32": [3], "int64": [2, 5], "uint64": [1, 1], "float16": [3, 4],
              "float32": [2, 3], "float64": [6]}
    tensors = {}
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        values = value_pattern(name, n)
        if name.startswith("float"):
            values = values.astype(name)
        tensors[name] = np.ascontiguousarray(values.reshape(shape))
    tensors["scalar_float32"] = np.array(2.5, dtype=np.float32)
    tensors["empty_float32"] = np.zeros((0, 3), dtype=np.float32)
    metadata = {"format": "np"}  # one key: the library writes metadata in hash order
    write(os.path.join(OUT, "python_written_numpy.safetensors"), safetensors.numpy.save(tensors, metadata=metadata))
    # torch 1.13 has no unsigned 16/32/64-bit types and numpy no bfloat16: a second file.
    torch_tensors = {
        "bfloat16": torch.tensor(value_pattern("float32", 8)).reshape(2, 4).to(torch.bfloat16),
        "float16": torch.tensor(value_pattern("float32", 6)).reshape(3, 2).to(torch.float16),
        "int64": torch.tensor(value_pattern("int64", 4)),
        "bool": torch.tensor(value_pattern("bool", 5)),
    }
    metadata = {"format": "pt"}
    write(os.path.join(OUT, "python_written_torch.safetensors"), safetensors.torch.save(torch_tensors, metadata=metadata))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    print(f"{path}: {len(data)} bytes")


def check_tailor_written():
    path = os.path.join(OUT, "tailor_written.safetensors")
    if not os.path.exists(path):
        print(f"{path} not found: run the C++ test once (it writes the file), then this script")
        return
    check = {"tensors": {}}
    with safetensors.safe_open(path, framework="numpy") as f:
        check["metadata"] = f.metadata()
        for name in f.keys():
            part = f.get_slice(name)
            entry = {"dtype": part.get_dtype(), "shape": list(part.get_shape())}
            try:
                entry["values"] = f.get_tensor(name).astype(np.float64).flatten().tolist()
            except Exception as error:  # numpy has no bfloat16 or float8
                entry["numpy_error"] = str(error)
            check["tensors"][name] = entry
    with safetensors.safe_open(path, framework="pt") as f:
        for name, entry in check["tensors"].items():
            if "values" in entry:
                continue
            try:
                entry["values"] = f.get_tensor(name).to(torch.float64).flatten().tolist()
                del entry["numpy_error"]
            except Exception as error:  # torch 1.13 has no float8
                entry["torch_error"] = str(error)
    out = os.path.join(OUT, "tailor_written_check.json")
    with open(out, "w") as f:
        json.dump(check, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    print(f"{out}: {len(check['tensors'])} tensors read by safetensors {safetensors.__version__}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_vocab = os.path.join(ROOT, "..", "shared", "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
    parser.add_argument("--vocab", default=default_vocab)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    make_tokenizer_fixture(args.vocab)
    python_written()
    check_tailor_written()


if __name__ == "__main__":
    main()
