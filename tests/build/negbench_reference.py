"""NegBench's CSV reading, restated independently: pandas plus ast.literal_eval, nothing of ccneg imported.

NegBench's ``CsvMCQDataset`` reads ``pd.read_csv(csv_file, sep=',')`` and takes ``image_path``,
``caption_0..caption_{n-1}``, ``correct_answer`` and ``correct_answer_template`` by name;
``CsvImageCaptionDataset`` reads ``filepath`` and parses ``captions`` with ``eval`` (a Python
list literal; ``ast.literal_eval`` accepts the same literals without running code).
"""

from __future__ import annotations

import ast
from typing import Any

import pandas as pd

NEGBENCH_MCQ_COLUMNS = ["correct_answer", "caption_0", "caption_1", "caption_2", "caption_3",
                        "correct_answer_template", "image_path"]


def read_mcq(path: str, num_answers: int = 4) -> list[dict[str, Any]]:
    frame = pd.read_csv(path, sep=",")
    rows = []
    for index in range(len(frame)):
        row = frame.iloc[index]
        rows.append({
            "image_path": row["image_path"],
            "captions": [row[f"caption_{i}"] for i in range(num_answers)],
            "correct_answer": int(row["correct_answer"]),
            "correct_answer_template": row["correct_answer_template"],
        })
    return rows


def read_retrieval(path: str) -> list[dict[str, Any]]:
    frame = pd.read_csv(path, sep=",")
    return [{"filepath": frame.iloc[i]["filepath"], "captions": ast.literal_eval(frame.iloc[i]["captions"])}
            for i in range(len(frame))]


def header(path: str) -> list[str]:
    return list(pd.read_csv(path, sep=",", nrows=0).columns)
