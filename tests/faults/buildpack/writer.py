"""A buildpack that builds slowly and on purpose badly, from the app's fault.json.

It writes one `launch = true, cache = true` layer `data` whose `bin/show` prints the app's
`VALUE` file as built, and a default process `show` that runs it. Then, from fault.json:

    {"spawn_writer": SECONDS}  start a grandchild (in the same process group) that writes
                               `late.txt` into the layer after SECONDS: it must never land
    {"ready": "PATH"}          create PATH once the layer is written (tests wait for it)
    {"sleep": SECONDS}         then block that long: a long step to be killed inside
    {"fill": "PATH"}           write zeros into PATH (relative to the layer) until the disk
                               is full, then fail with the error
    {"append": TEXT}           first append TEXT to the restored value.txt in place (the same
                               inode), then exit at once if "exit" is given
    {"exit": CODE}             then exit with CODE
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def replace(path: Path, text: str, mode: int = 0o644) -> None:
    # Restored files are hard links shared with the cache and the previous image: a well-behaved
    # buildpack writes a new file and renames it over, never edits them in place.
    temp = path.with_name(path.name + ".new")
    temp.write_text(text)
    temp.chmod(mode)
    temp.replace(path)


layers = Path(os.environ["CNB_LAYERS_DIR"])
config = json.loads(Path("fault.json").read_text())
value = Path("VALUE").read_text().strip() if Path("VALUE").exists() else "none"

layer = layers / "data"
if "append" in config and (layer / "value.txt").exists():
    with (layer / "value.txt").open("a") as in_place:  # the restored inode itself
        in_place.write(config["append"])
    if "exit" in config:
        sys.exit(int(config["exit"]))
(layer / "bin").mkdir(parents=True, exist_ok=True)
replace(layer / "value.txt", value + "\n")
replace(layer / "bin" / "show", '#!/bin/sh\nexec cat "$(dirname "$0")/../value.txt"\n', 0o755)
(layers / "data.toml").write_text(
    f'[types]\nlaunch = true\ncache = true\n[metadata]\nvalue = "{value}"\n'
)
(layers / "launch.toml").write_text(
    '[[processes]]\ntype = "show"\ncommand = ["show"]\ndefault = true\n'
)
sys.stdout.write(f"built value {value}\n")
sys.stdout.flush()

if "spawn_writer" in config:
    delay = float(config["spawn_writer"])
    # A grandchild, as pip would be: not the process the platform started.
    subprocess.Popen(
        ["sh", "-c", f'sleep {delay}; echo late > "{layer}/late.txt"'],
        stdin=subprocess.DEVNULL,
    )
if "ready" in config:
    Path(config["ready"]).write_text(str(os.getpid()))
if "fill" in config:
    try:
        with (layer / config["fill"]).open("wb") as sink:
            block = b"\0" * (1 << 20)
            while True:
                sink.write(block)
                sink.flush()
    except OSError as error:
        sys.stderr.write(f"fill: {error}\n")
        sys.exit(1)
if "sleep" in config:
    time.sleep(float(config["sleep"]))
sys.exit(int(config.get("exit", 0)))
