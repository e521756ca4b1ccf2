#!/usr/bin/python3
"""Summarise JUnit XML reports (Catch2 and pytest).

Usage: summarize.py REPORT.xml...

Prints one line per report with its counts, the names of failed test cases, and as the LAST line
exactly "N passed, N failed" (followed by ", N skipped" when tests were skipped).
Exit status: 0 if at least one test ran and none failed, 1 otherwise.
A report that cannot be parsed counts as one failed test.
"""

import os
import sys
import xml.etree.ElementTree as ET


def classify(testcase):
    if testcase.find("failure") is not None or testcase.find("error") is not None:
        return "failed"
    if testcase.find("skipped") is not None:
        return "skipped"
    return "passed"


def case_name(testcase):
    cls = testcase.get("classname") or ""
    name = testcase.get("name") or "?"
    return f"{cls}::{name}" if cls else name


def summarize_file(path):
    """Returns (suite, counts, failed case names)."""
    suite = os.path.splitext(os.path.basename(path))[0]
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failed = []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        counts["failed"] = 1
        failed.append(f"unreadable report: {exc}")
        return suite, counts, failed
    for testcase in root.iter("testcase"):
        kind = classify(testcase)
        counts[kind] += 1
        if kind == "failed":
            failed.append(case_name(testcase))
    # A suite-level error without any test case (e.g. a crash before the first case).
    if not any(counts.values()):
        for suite_el in root.iter("testsuite"):
            errors = int(suite_el.get("errors") or 0) + int(suite_el.get("failures") or 0)
            if errors:
                counts["failed"] += errors
                failed.append(f"{suite_el.get('name') or suite}: suite-level errors")
    return suite, counts, failed


def main(argv):
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    if not argv:
        print("no reports given")
    for path in argv:
        suite, counts, failed = summarize_file(path)
        line = f"{suite}: {counts['passed']} passed, {counts['failed']} failed"
        if counts["skipped"]:
            line += f", {counts['skipped']} skipped"
        print(line)
        for name in failed:
            print(f"  FAILED {name}")
        for key in totals:
            totals[key] += counts[key]
    last = f"{totals['passed']} passed, {totals['failed']} failed"
    if totals["skipped"]:
        last += f", {totals['skipped']} skipped"
    print(last)
    ran = totals["passed"] + totals["failed"]
    return 0 if ran > 0 and totals["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
