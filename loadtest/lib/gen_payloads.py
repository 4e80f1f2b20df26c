#!/usr/bin/python3
"""Writes the kit's generated JSON payloads into DIR, the same bytes on every run.

Each payload is an array of user records (ids, names, emails, booleans, float scores, ISO
dates), the shape of a typical list endpoint. users-8m.json holds 50,000 records; the smaller
ones hold the longest prefix of the same records that fits their size.

Usage: gen_payloads.py DIR   -> prints NAME SIZE RECORDS per payload
"""
import datetime
import json
import os
import random
import sys

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Sophia", "Mateo", "Mia", "Hiroshi",
         "Amara", "Chen", "Fatima", "Ivan", "Zoe", "Ravi", "Elena", "Kwame", "Ingrid", "Diego"]
LAST = ["Smith", "Garcia", "Muller", "Rossi", "Kowalski", "Tanaka", "Okafor", "Silva", "Nguyen",
        "Johansson", "Haddad", "Kim", "Dubois", "Novak", "Patel", "Cohen", "Fernandez", "Berg"]
DOMAINS = ["example.com", "example.org", "example.net"]
ROLES = ["admin", "editor", "viewer", "owner"]

# Target sizes in bytes; the largest is fixed by record count instead.
SIZES = [("users-1k.json", 1 << 10), ("users-10k.json", 10 << 10), ("users-100k.json", 100 << 10),
         ("users-1m.json", 1 << 20)]
FULL = ("users-8m.json", 50_000)


def records(count):
    rng = random.Random(20240501)
    epoch = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    out = []
    for i in range(1, count + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = epoch + datetime.timedelta(seconds=rng.randrange(4 * 365 * 86400))
        out.append({
            "id": i,
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}",
            "active": rng.random() < 0.8,
            "role": rng.choice(ROLES),
            "score": round(rng.uniform(0, 100), 2),
            "balance": round(rng.uniform(-500, 25_000), 2),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return out


def dump(items):
    return json.dumps(items, separators=(",", ":")).encode()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_payloads.py DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    name, count = FULL
    all_records = records(count)
    full = dump(all_records)
    # Each record serialises to at most this many bytes plus a comma, so sizes stay monotone.
    lengths = [len(dump(r)) + 1 for r in all_records]
    written = []
    for small_name, limit in SIZES:
        n, size = 0, 1
        while n < len(lengths) and size + lengths[n] <= limit:
            size += lengths[n]
            n += 1
        written.append((small_name, dump(all_records[:n]), n))
    written.append((name, full, count))
    for file_name, body, n in written:
        with open(os.path.join(out_dir, file_name), "wb") as f:
            f.write(body)
        print(f"{file_name} {len(body)} {n}")


main()
