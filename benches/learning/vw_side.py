"""Vowpal Wabbit on the learning benchmark's streams (issue #18): the peer, side by side.

Reads streams as JSON lines on stdin ({"kind", "seed", "actions", "chunks": [{"text", "u", "p"}]}),
runs VW 9.11.9 `--cb_explore_adf --epsilon 0.05 -q sa` on each (its defaults otherwise: learning
rate 0.5, adaptive normalised invariant updates), and writes one JSON line per stream:
{"kind", "seed", "choices": [action index per chunk]}.

Each chunk is one ADF example: `shared |s <the chunk's words>` and one `|a <action name>` line per
action; the chosen line carries `0:<cost>:<probability>` with cost = -reward. VW's exploration
distribution is sampled with a generator seeded from the stream's seed, and the reward is the one the
stream draws for every learner (`u < p[action]`).

Usage: python benches/learning/vw_side.py [--epsilon 0.05] [--extra "<more VW flags>"] < streams.jsonl
"""

import argparse
import json
import random
import sys

import vowpalwabbit


def run(stream, epsilon, extra):
    vw = vowpalwabbit.Workspace(
        f"--cb_explore_adf --epsilon {epsilon} -q sa --quiet --random_seed {stream['seed']} {extra}".strip()
    )
    draw = random.Random(stream["seed"] * 31 + 7)
    actions = [f"|a {name}" for name in stream["actions"]]
    choices = []
    for chunk in stream["chunks"]:
        shared = "shared |s " + chunk["text"]
        pmf = vw.predict([shared] + actions)
        x, acc, chosen = draw.random(), 0.0, len(pmf) - 1
        for i, p in enumerate(pmf):
            acc += p
            if x < acc:
                chosen = i
                break
        reward = 1.0 if chunk["u"] < chunk["p"][chosen] else 0.0
        labelled = list(actions)
        labelled[chosen] = f"0:{-reward}:{pmf[chosen]} {actions[chosen]}"
        vw.learn([shared] + labelled)
        choices.append(chosen)
    vw.finish()
    return choices


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epsilon", type=float, default=0.05)
    ap.add_argument("--extra", default="")
    args = ap.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        stream = json.loads(line)
        choices = run(stream, args.epsilon, args.extra)
        print(json.dumps({"kind": stream["kind"], "seed": stream["seed"], "choices": choices}), flush=True)


if __name__ == "__main__":
    main()
