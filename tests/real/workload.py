# Deterministic CPU work with live Python state, for tests/real/python3.sh.
# Prints a progress line per round (flushed) and a summary at the end; the
# whole output is a function of the arguments only.
import hashlib
import queue
import sys
import threading
from collections import Counter, defaultdict


class Stats:
    """Long-lived object mutated in every round."""

    def __init__(self):
        self.counts = Counter()
        self.by_len = defaultdict(list)
        self.history = []
        self.digest = hashlib.sha256()

    def add(self, rnd, values):
        for v in values:
            self.counts[v % 97] += 1
            self.by_len[len(str(v))].append(v & 0xFFFF)
        self.history.append((rnd, len(values), sum(values) % 1000003))
        self.digest.update(repr(self.history[-1]).encode())


def primes(limit):
    """Generator over a bytearray sieve; it stays suspended between rounds."""
    sieve = bytearray([1]) * (limit + 1)
    sieve[0:2] = b"\0\0"
    for i in range(2, int(limit ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, limit + 1, i)))
    for i in range(limit + 1):
        if sieve[i]:
            yield i


def collatz_len(n, cache):
    seen = []
    while n != 1 and n not in cache:
        seen.append(n)
        n = 3 * n + 1 if n & 1 else n >> 1
    k = cache.get(n, 0)
    for m in reversed(seen):
        k += 1
        cache[m] = k
    return k


def hasher(jobs, results):
    """Worker thread: hashes blocks handed over through a queue."""
    while True:
        item = jobs.get()
        if item is None:
            return
        idx, data = item
        h = hashlib.blake2b(data, digest_size=16)
        for _ in range(40):
            h = hashlib.blake2b(h.digest() + data[:4096], digest_size=16)
        results[idx] = h.hexdigest()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    per_round = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    stats = Stats()
    gen = primes(rounds * per_round * 20)
    cache = {1: 0}
    jobs = queue.Queue()
    results = {}
    workers = [threading.Thread(target=hasher, args=(jobs, results)) for _ in range(2)]
    for w in workers:
        w.start()
    longest = (0, 0)
    for rnd in range(rounds):
        ps = [next(gen) for _ in range(per_round)]
        stats.add(rnd, ps)
        for p in ps:
            k = collatz_len(p, cache)
            if k > longest[0]:
                longest = (k, p)
        blob = b"".join(p.to_bytes(4, "little") for p in ps)
        jobs.put((rnd, blob))
        print("round %d/%d last_prime=%d longest=%s" % (rnd + 1, rounds, ps[-1], longest), flush=True)
    for _ in workers:
        jobs.put(None)
    for w in workers:
        w.join()
    final = hashlib.sha256()
    for idx in sorted(results):
        final.update(results[idx].encode())
    print("primes:", sum(len(v) for v in stats.by_len.values()))
    print("mod97 top:", stats.counts.most_common(5))
    print("by_len:", {k: len(v) for k, v in sorted(stats.by_len.items())})
    print("collatz cache:", len(cache), "longest:", longest)
    print("history digest:", stats.digest.hexdigest())
    print("worker digest:", final.hexdigest())


if __name__ == "__main__":
    main()
