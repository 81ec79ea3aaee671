"""Runs the JVM programs of the compatibility suite (compat/java: kafka-clients and Kafka
Streams, one scenario per process, see its Main.java). scripts/test.sh compiles them and
writes their run-time class path to compat/java/target/classpath.txt, so a test needs only
`java`; a bare pytest run builds them first with Maven."""
import subprocess
from pathlib import Path

from client_processes import run_json

JAVA_DIR = Path(__file__).resolve().parent / "java"
CLASSES = JAVA_DIR / "target" / "classes"
CLASSPATH_FILE = JAVA_DIR / "target" / "classpath.txt"


def build():
    if not CLASSPATH_FILE.exists():
        subprocess.run(["mvn", "-q", "-B", "compile"], cwd=JAVA_DIR, check=True, timeout=600)


def java(main_class, *args, properties=()):
    """The `java` command line running `main_class` with `-Dname=value` properties."""
    classpath = f"{CLASSES}:{CLASSPATH_FILE.read_text().strip()}"
    # A small heap and no JIT tiers beyond C1: these programs are short and I/O bound,
    # and several JVMs share the machine's two cores with the broker.
    return (["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classpath]
            + [f"-D{name}={value}" for name, value in properties] + [main_class, *args])


def command(scenario, bootstrap, **args):
    """The `java` command line of one scenario; keyword arguments become `--name value`."""
    argv = java("tidelog.compat.Main", scenario, "--bootstrap", bootstrap)
    for name, value in args.items():
        argv += ["--" + name.replace("_", "-"), str(value)]
    return argv


def run(scenario, bootstrap, timeout=120, **args):
    """Runs a one-shot scenario and returns the JSON document it printed."""
    return run_json(command(scenario, bootstrap, **args), timeout=timeout)
