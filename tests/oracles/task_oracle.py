#!/usr/bin/env python3
"""Test oracle for the task plugins (never part of the product). Run with the oracle venv's
python (packaging/oracle-requirements.txt: tiktoken). It builds each task's examples on its
own from the files in shared/data, restating nanochat's tasks/*.py (GSM8K, ARC, MMLU,
CustomJSON, SpellingBee, SimpleSpelling; commit 10231df), this project's converters
(oasst, hh-rlhf, alpaca) and its synthetic letter-choice (see plugins/tasks/README.md), and
renders them with a restatement of nanochat's Tokenizer.render_conversation over tiktoken
given our saved tokenizer.

  render DATA TOKENIZER TASK SPLIT OUT [--argument A] [--max-tokens N]
        OUT gets one line per example: the ids, space-separated, a tab, the mask as 0/1 digits
  mixture SEED LENGTH... OUT
        nanochat's TaskMixture order: OUT gets one "part index" line per example
"""
import csv
import glob
import gzip
import json
import os
import random
import re
import sys


# --- nanochat's Tokenizer.render_conversation, over tiktoken -------------------------------

def load_encoding(folder):
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe

    with open(f"{folder}/tokenizer.json", encoding="utf-8") as f:
        meta = json.load(f)
    return tiktoken.Encoding(
        name="nanochat-task-oracle",
        pat_str=meta["pattern"],
        mergeable_ranks=load_tiktoken_bpe(f"{folder}/{meta['ranks_file']}"),
        special_tokens=meta["special_tokens"],
    )


def render_conversation(enc, conversation, max_tokens):
    ids, mask = [], []

    def add(tokens, value):
        if isinstance(tokens, int):
            tokens = [tokens]
        ids.extend(tokens)
        mask.extend([value] * len(tokens))

    messages = conversation["messages"]
    if messages[0]["role"] == "system":
        assert messages[1]["role"] == "user"
        merged = dict(messages[1], content=messages[0]["content"] + "\n\n" + messages[1]["content"])
        messages = [merged] + messages[2:]
    special = enc._special_tokens
    add(special["<|bos|>"], 0)
    for i, message in enumerate(messages):
        assert message["role"] == ("user" if i % 2 == 0 else "assistant"), f"message {i} out of turn"
        content = message["content"]
        if message["role"] == "user":
            assert isinstance(content, str)
            add(special["<|user_start|>"], 0)
            add(enc.encode_ordinary(content), 0)
            add(special["<|user_end|>"], 0)
            continue
        add(special["<|assistant_start|>"], 0)
        if isinstance(content, str):
            add(enc.encode_ordinary(content), 1)
        else:
            for part in content:
                value = enc.encode_ordinary(part["text"])
                if part["type"] == "text":
                    add(value, 1)
                elif part["type"] == "python":
                    add(special["<|python_start|>"], 1)
                    add(value, 1)
                    add(special["<|python_end|>"], 1)
                elif part["type"] == "python_output":
                    add(special["<|output_start|>"], 0)
                    add(value, 0)
                    add(special["<|output_end|>"], 0)
                else:
                    raise ValueError(part["type"])
        add(special["<|assistant_end|>"], 1)
    return ids[:max_tokens], mask[:max_tokens]


# --- the tasks ---------------------------------------------------------------------------

def user_assistant(user, assistant):
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


def render_mc(question, letters, choices):
    query = f"Multiple Choice question: {question}\n"
    query += "".join([f"- {choice}={letter}\n" for letter, choice in zip(letters, choices)])
    query += "\nRespond only with the letter of the correct answer."
    return query


def read_jsonl(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def gsm8k(data, split, argument):
    out = []
    for row in read_jsonl(f"{data}/eval_gsm8k/{split}.jsonl"):
        parts = []
        for part in re.split(r"(<<[^>]+>>)", row["answer"]):
            if part.startswith("<<") and part.endswith(">>"):
                inner = part[2:-2]
                expr, result = inner.rsplit("=", 1) if "=" in inner else (inner, "")
                parts.append({"type": "python", "text": expr})
                parts.append({"type": "python_output", "text": result})
            else:
                parts.append({"type": "text", "text": part})
        out.append(user_assistant(row["question"], parts))
    return out


def arc(subset):
    def load(data, split, argument):
        out = []
        for row in read_jsonl(f"{data}/eval_arc/{subset}/{subset}-{split.capitalize()}.jsonl"):
            choices = row["question"]["choices"]
            letters = [c["label"] for c in choices]
            question = render_mc(row["question"]["stem"], letters, [c["text"] for c in choices])
            out.append(user_assistant(question, row["answerKey"]))
        return out
    return load


def mmlu(data, split, argument):
    out = []
    for path in sorted(glob.glob(f"{data}/eval_mmlu/{split}/*_{split}.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))[1:]
        for row in rows:
            letters = ("A", "B", "C", "D")
            out.append(user_assistant(render_mc(row[0], letters, row[1:5]), letters[int(row[5])]))
    return out


def humaneval(data, split, argument):
    rows = read_jsonl(f"{data}/eval_humaneval/HumanEval.jsonl.gz")
    return [user_assistant(row["prompt"], f"{row['prompt']}\n{row['canonical_solution']}") for row in rows]


def held_out(conversations, split):
    n = len(conversations)
    test = 0 if n < 2 else min((n + 19) // 20, n - 1)
    return {"train": conversations[: n - test], "test": conversations[n - test:], "all": conversations}[split]


def custom_json(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                messages = json.loads(line)
                out.append({"messages": messages if isinstance(messages, list) else messages["messages"]})
    return out


def identity(data, split, argument):
    return held_out(custom_json(f"{data}/sft_identity_nanochat/identity_conversations.jsonl"), split)


def chat_jsonl(data, split, argument):
    return held_out(custom_json(argument), split)


def oasst(data, split, argument):
    out = []
    for tree in read_jsonl(f"{data}/sft_oasst_en100/en_100_tree.jsonl"):
        message, messages = tree["prompt"], []
        while message is not None:
            messages.append({"role": "user" if message["role"] == "prompter" else "assistant", "content": message["text"]})
            replies = message.get("replies") or []
            ranked = [r for r in replies if r.get("rank") == 0]
            message = ranked[0] if ranked else (replies[0] if replies else None)
        if messages[-1]["role"] == "user":
            messages.pop()
        out.append({"messages": messages})
    return held_out(out, split)


def hh_rlhf(data, split, argument):
    out = []
    for part in ["helpful-base", "helpful-online", "helpful-rejection-sampled"]:
        for row in read_jsonl(f"{data}/sft_hh_rlhf/{part}/test.jsonl.gz"):
            pieces = re.split(r"\n\n(Human|Assistant): ", row["chosen"])
            if pieces[0] != "":
                continue
            roles, texts = pieces[1::2], [t.strip(" \t\n\r\f\v") for t in pieces[2::2]]
            if any(r != ("Human" if i % 2 == 0 else "Assistant") for i, r in enumerate(roles)) or "" in texts:
                continue
            messages = [{"role": "user" if r == "Human" else "assistant", "content": t} for r, t in zip(roles, texts)]
            if messages and messages[-1]["role"] == "user":
                messages.pop()
            if len(messages) >= 2:
                out.append({"messages": messages})
    return held_out(out, split)


def alpaca(data, split, argument):
    with open(f"{data}/sft_alpaca_cleaned_1000/alpaca_data_cleaned_1000.json", encoding="utf-8") as f:
        rows = json.load(f)
    out = [user_assistant(r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""), r["output"]) for r in rows]
    return held_out(out, split)


# nanochat's SpellingBee and SimpleSpelling (tasks/spellingbee.py)
LETTERS = "abcdefghijklmnopqrstuvwxyz"
TEST_RANDOM_SEED_OFFSET = 10_000_000
USER_MSG_TEMPLATES = [
    "How many {letter} are in the word {word}",
    "How many {letter} are in {word}",
    "Count the number of {letter} in {word}",
    "How many times does {letter} appear in {word}",
    "What's the count of {letter} in {word}",
    "In the word {word}, how many {letter} are there",
    "How many letter {letter} are in the word {word}",
    "Count how many {letter} appear in {word}",
    "Tell me the number of {letter} in {word}",
    "How many occurrences of {letter} are in {word}",
    "Find the count of {letter} in {word}",
    "Can you count the {letter} letters in {word}",
    "What is the frequency of {letter} in {word}",
    "How many {letter}s are in {word}",
    "How many {letter}'s are in {word}",
    "Count all the {letter} in {word}",
    "How many times is {letter} in {word}",
    "Number of {letter} in {word}",
    "Total count of {letter} in {word}",
    "How many {letter} does {word} have",
    "How many {letter} does {word} contain",
    "What's the number of {letter} in {word}",
    "{word} has how many {letter}",
    "In {word}, count the {letter}",
    "How many {letter} appear in {word}",
    "Count the {letter} in {word}",
    "Give me the count of {letter} in {word}",
    "How many instances of {letter} in {word}",
    "Show me how many {letter} are in {word}",
    "Calculate the number of {letter} in {word}",
    "¿Cuántas {letter} hay en {word}?",
    "¿Cuántas veces aparece {letter} en {word}?",
    "Cuenta las {letter} en {word}",
    "¿Cuántas letras {letter} tiene {word}?",
    "{word}中有多少个{letter}",
    "{word}里有几个{letter}",
    "数一下{word}中的{letter}",
    "{word}这个词里有多少{letter}",
    "{word}에 {letter}가 몇 개 있나요",
    "{word}에서 {letter}의 개수는",
    "{word}에 {letter}가 몇 번 나오나요",
    "{word}라는 단어에 {letter}가 몇 개",
    "Combien de {letter} dans {word}",
    "Combien de fois {letter} apparaît dans {word}",
    "Compte les {letter} dans {word}",
    "Wie viele {letter} sind in {word}",
    "Wie oft kommt {letter} in {word} vor",
    "Zähle die {letter} in {word}",
    "{word}に{letter}は何個ありますか",
    "{word}の中に{letter}がいくつ",
    "{word}に{letter}が何回出てくる",
]


def words(data):
    with open(f"{data}/midtrain_spellingbee_words/words_alpha.txt", encoding="utf-8") as f:
        return [line.strip() for line in f]


def spellingbee_example(word_list, seed):
    rng = random.Random(seed)
    word = rng.choice(word_list)
    letter = rng.choice(word) if rng.random() < 0.9 else rng.choice(LETTERS)
    count = word.count(letter)
    template = rng.choice(USER_MSG_TEMPLATES)
    if rng.random() < 0.3:
        template = template.lower()
    quote_options = ["", "'", '"']
    letter_quote = rng.choice(quote_options)
    word_quote = rng.choice(quote_options)
    user_msg = template.format(letter=f"{letter_quote}{letter}{letter_quote}", word=f"{word_quote}{word}{word_quote}")
    if rng.random() < 0.5:
        user_msg += "?"
    manual = (f"We are asked to find the number '{letter}' in the word '{word}'. Let me try a manual approach first.\n\n"
              f"First spell the word out:\n{word}:{','.join(list(word))}\n\nThen count the occurrences of '{letter}':\n")
    running = 0
    for i, char in enumerate(word, 1):
        if char == letter:
            running += 1
            manual += f"{i}:{char} hit! count={running}\n"
        else:
            manual += f"{i}:{char}\n"
    manual += f"\nThis gives us {running}."
    parts = [
        {"type": "text", "text": manual},
        {"type": "text", "text": "\n\nLet me double check this using Python:\n\n"},
        {"type": "python", "text": f"'{word}'.count('{letter}')"},
        {"type": "python_output", "text": str(count)},
        {"type": "text", "text": f"\n\nPython gives us {count}.\n\nMy final answer is:\n\n#### {count}"},
    ]
    return user_assistant(user_msg, parts)


def seeds(split, argument):
    size = int(argument) if argument else 1000
    return [i if split == "train" else TEST_RANDOM_SEED_OFFSET + i for i in range(size)]


def spellingbee(data, split, argument):
    word_list = words(data)
    return [spellingbee_example(word_list, seed) for seed in seeds(split, argument)]


def simple_spelling(data, split, argument):
    word_list = words(data)
    random.Random(42).shuffle(word_list)
    out = []
    for seed in seeds(split, argument):
        word = random.Random(seed).choice(word_list)
        out.append(user_assistant(f"Spell the word: {word}", f"{word}:{','.join(list(word))}"))
    return out


LETTER_CHOICE_WORDS = [
    "sun", "moon", "star", "sky", "tree", "leaf", "rock", "sand", "rain", "snow", "wind", "fire", "lake", "fish", "bird",
    "cat", "dog", "cow", "egg", "milk", "bread", "cake", "cup", "book", "door", "bed", "hat", "shoe", "ball", "box",
    "car", "ship",
]


def letter_choice(data, split, argument):
    # This project's synthetic task (plugins/tasks/letter_choice): four distinct words, the
    # first the target, then its position (drawn even when the argument fixes it).
    out = []
    seeds = range(10_000) if split == "train" else range(1_000_000, 1_000_000 + 1_000)
    for seed in seeds:
        rng = random.Random(seed)
        picked = rng.sample(LETTER_CHOICE_WORDS, 4)
        position = rng.randrange(4)
        if argument:
            position = "ABCD".index(argument)
        choices = picked[1:]
        choices.insert(position, picked[0])
        question = render_mc(f'Which of these is the word "{picked[0]}"?', list("ABCD"), choices)
        out.append(user_assistant(question, "ABCD"[position]))
    return out


TASKS = {
    "gsm8k": gsm8k, "arc-easy": arc("ARC-Easy"), "arc-challenge": arc("ARC-Challenge"), "mmlu": mmlu, "humaneval": humaneval,
    "identity": identity, "chat-jsonl": chat_jsonl, "oasst": oasst, "hh-rlhf": hh_rlhf, "alpaca": alpaca,
    "spellingbee": spellingbee, "simple-spelling": simple_spelling, "letter-choice": letter_choice,
}


def render(argv):
    data, tokenizer, task, split, out_path = argv[:5]
    options = dict(zip(argv[5::2], argv[6::2]))
    enc = load_encoding(tokenizer)
    max_tokens = int(options.get("--max-tokens", 2048))
    with open(out_path, "w") as out:
        for conversation in TASKS[task](data, split, options.get("--argument", "")):
            ids, mask = render_conversation(enc, conversation, max_tokens)
            out.write(" ".join(map(str, ids)) + "\t" + "".join(map(str, mask)) + "\n")


def mixture(argv):
    seed, lengths, out_path = int(argv[0]), [int(n) for n in argv[1:-1]], argv[-1]
    index_map = [(task, local) for task, length in enumerate(lengths) for local in range(length)]
    random.Random(seed).shuffle(index_map)
    with open(out_path, "w") as out:
        out.write("".join(f"{task} {local}\n" for task, local in index_map))


def main(argv):
    if len(argv) >= 6 and argv[0] == "render":
        render(argv[1:])
    elif len(argv) >= 4 and argv[0] == "mixture":
        mixture(argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
