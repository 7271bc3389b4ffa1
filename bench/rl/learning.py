"""Reward curves of RL runs (bench/rl/learning.sh): for each --log-file given, the mean
reward of its first and last 10 steps and their difference, as a markdown table on stdout,
and every run's per-step reward (and a 5-step moving average) as one SVG chart.
Standard library only."""
import argparse
import json
import pathlib

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f"]


def read_rewards(path):
    by_step = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_step[row["step"]] = row["reward"]
    return [by_step[s] for s in sorted(by_step)]


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def moving_average(values, width=5):
    return [mean(values[max(0, i - width + 1): i + 1]) for i in range(len(values))]


def svg(runs, width=720, height=400, margin=50):
    steps = max(len(r) for r in runs.values())
    x = lambda s: margin + (width - 2 * margin) * s / max(1, steps - 1)
    y = lambda v: height - margin - (height - 2 * margin) * v
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">mean reward per step (thin) and 5-step average (thick)</text>']
    for v in [0, 0.25, 0.5, 0.75, 1.0]:
        parts.append(f'<line x1="{margin}" x2="{width - margin}" y1="{y(v)}" y2="{y(v)}" stroke="#ddd"/>')
        parts.append(f'<text x="{margin - 8}" y="{y(v) + 4}" text-anchor="end">{v}</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">step</text>')
    for i, (name, rewards) in enumerate(runs.items()):
        colour = COLOURS[i % len(COLOURS)]
        raw = " ".join(f"{x(s):.1f},{y(r):.1f}" for s, r in enumerate(rewards))
        smooth = " ".join(f"{x(s):.1f},{y(r):.1f}" for s, r in enumerate(moving_average(rewards)))
        parts.append(f'<polyline points="{raw}" fill="none" stroke="{colour}" stroke-width="0.8" opacity="0.5"/>')
        parts.append(f'<polyline points="{smooth}" fill="none" stroke="{colour}" stroke-width="2.2"/>')
        parts.append(f'<text x="{width - margin + 4}" y="{margin + 16 * i}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--out", required=True, help="the SVG to write")
    args = parser.parse_args()
    runs = {pathlib.Path(p).stem: read_rewards(p) for p in sorted(args.logs)}
    print("| run | steps | first 10 | last 10 | gain |")
    print("|---|---|---|---|---|")
    for name, rewards in runs.items():
        first, last = mean(rewards[:10]), mean(rewards[-10:])
        print(f"| {name} | {len(rewards)} | {first:.3f} | {last:.3f} | {last - first:+.3f} |")
    pathlib.Path(args.out).write_text(svg(runs))
    print(f"\ncurves: {args.out}")


if __name__ == "__main__":
    main()
