"""A three-module program (extract -> plan -> answer) optimized by miprox, from Python.

The LLM calls go through miprox's proxy URL with the official `openai` package; miprox's own API
(create a job, ask for a rollout, report rewards, read the job, promote, export) is plain HTTP with
the standard library, as docs/API.md describes it. CI runs this file end to end
(test/examples/python.test.ts). Every call exercises one surface of the proxy:

  extract  chat completions, structured output (`chat.completions.parse` with a pydantic model)
  plan     chat completions, streamed; the module named with the `x-mipro-module` header
  answer   the Responses API (`responses.create`, the module's text in `instructions`); the module
           and a variable given in the `mipro` body field (`extra_body`)

Offline, with the built-in simulator as the model (no provider key needed):
  MIPROX_API_KEY=mpx_local_dev_key npx miprox serve                  # terminal 1
  pip install openai
  MIPROX_API_KEY=mpx_local_dev_key python examples/python/program.py  # terminal 2
With OpenAI: start the server with OPENAI_API_KEY set and run with POLICY_PROVIDER=openai
POLICY_MODEL=gpt-4o-mini (the policy; the proposer stays the simulator unless PROPOSER_PROVIDER=openai
PROPOSER_MODEL=gpt-4o-mini are set too). MIPROX_BASE_URL selects another server (default
http://127.0.0.1:8700), ROLLOUTS the number of rollouts (default 60).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from openai import OpenAI
from pydantic import BaseModel

MIPROX = os.environ.get("MIPROX_BASE_URL", "http://127.0.0.1:8700").rstrip("/")
API_KEY = os.environ["MIPROX_API_KEY"]
ROLLOUTS = int(os.environ.get("ROLLOUTS", "60"))
POLICY = (os.environ.get("POLICY_PROVIDER", "sim"), os.environ.get("POLICY_MODEL", "sim-policy"))
PROPOSER = (os.environ.get("PROPOSER_PROVIDER", "sim"), os.environ.get("PROPOSER_MODEL", "sim-proposer"))

# The application's data: a customer query, the channel it came through, and the right intent.
DATA = [
    {"query": "I lost my card yesterday", "customer": "Ada", "channel": "chat", "label": "card_lost"},
    {"query": "My transfer is still pending", "customer": "Bob", "channel": "email", "label": "transfer_pending"},
    {"query": "When will my new card arrive?", "customer": "Chen", "channel": "chat", "label": "card_arrival"},
]
LABELS = sorted({row["label"] for row in DATA})

# One template per module. {placeholders} are captured from each call's system text (or given in
# `mipro.variables`); a candidate rewrites a module's text and keeps its placeholders.
MODULES = [
    {"name": "extract", "template": "Extract the customer's name, the product and the problem from this {channel} message."},
    {"name": "plan", "template": "Plan how to help customer {customer} with their banking issue."},
    {"name": "answer", "template": "Classify the customer's banking query into one of: " + ", ".join(LABELS)
        + ". Answer with the label only.\nFacts:\n{facts}"},
]


class MiproxError(Exception):
    """A non-2xx answer of miprox's API: its status and its `{"error": {...}}` body."""

    def __init__(self, status: int, body: dict):
        error = body.get("error", {})
        details = "; ".join(f"{d.get('path')}: {d.get('message')}" for d in error.get("details", []))
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}" + (f" ({details})" if details else ""))
        self.status, self.body = status, body


def miprox(method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    """One call to miprox's API with urllib: JSON in and out, the key as a bearer token."""
    url = MIPROX + path + ("?" + urllib.parse.urlencode(query) if query else "")
    # allow_nan=False: json.dumps would write a nan score as NaN, which is not JSON (miprox answers 400).
    data = None if body is None else json.dumps(body, allow_nan=False).encode()
    headers = {"authorization": f"Bearer {API_KEY}", "accept": "application/json"}
    if data is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"error": {"code": "http_error", "message": raw.decode(errors="replace")}}
        raise MiproxError(e.code, parsed) from None


class Facts(BaseModel):
    customer: str
    product: str
    problem: str


def create_job() -> dict:
    return miprox("POST", "/api/policy-optimization/online/jobs", {
        "policy_optimization": {
            "algorithm": "mipro",
            "modules": MODULES,
            "policy": {"provider": POLICY[0], "model": POLICY[1], "temperature": 0, "max_completion_tokens": 128},
            "mipro": {
                "mode": "online", "bootstrap_train_seeds": [0, 1, 2], "online_pool": {"start": 0, "end": 30},
                "val_seeds": [30, 31, 32], "online_proposer_mode": "inline", "online_proposer_min_rollouts": 9,
                "online_rollouts_per_candidate": 3,
                "proposer": {"mode": "instruction_only", "provider": PROPOSER[0], "model": PROPOSER[1],
                             "temperature": 0.7, "max_tokens": 512, "instructions_per_batch": 2},
            },
        },
    })


def run_rollout(llm: OpenAI, model: str, row: dict) -> tuple[str, dict]:
    """The program: three calls, each its own module. Returns the answer and each module's output."""
    # 1. extract: structured output. The system text matches the template, so {channel} is captured.
    extracted = llm.chat.completions.parse(
        model=model,
        messages=[
            {"role": "system", "content": f"Extract the customer's name, the product and the problem from this {row['channel']} message."},
            {"role": "user", "content": row["query"]},
        ],
        response_format=Facts,
    )
    facts = extracted.choices[0].message.parsed
    # 2. plan: a stream; the module named by header (the template match would find it too).
    stream = llm.chat.completions.create(
        model=model,
        messages=[
            {"role": "system", "content": f"Plan how to help customer {row['customer']} with their banking issue."},
            {"role": "user", "content": row["query"]},
        ],
        stream=True,
        extra_headers={"x-mipro-module": "plan"},
    )
    plan = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    # 3. answer: the Responses API. `instructions` is the module's system text; the module and the
    # value of {facts} go in the `mipro` body field, which the proxy reads and never forwards.
    facts_text = facts.model_dump_json() if facts else "{}"
    response = llm.responses.create(
        model=model,
        instructions=MODULES[2]["template"].replace("{facts}", facts_text),
        input=row["query"],
        extra_body={"mipro": {"module": "answer", "variables": {"facts": facts_text}}},
    )
    return response.output_text, {"extract": facts_text, "plan": plan, "answer": response.output_text}


def normalize(text: str) -> str:
    return "_".join("".join(c for c in text.lower() if c.isalnum() or c in "_ ").split())


def main() -> None:
    job = create_job()
    job_id, session = job["job_id"], job["session_id"]
    print(f"job {job_id}: proxy {job['proxy_url']}")
    # One client; each rollout gets a copy whose base URL carries the rollout id (the copy shares the
    # connection pool). The proxy needs no provider key: the server holds it.
    client = OpenAI(base_url=job["proxy_url"], api_key="unused")

    scores = []
    for i in range(ROLLOUTS):
        # The seed scheduler picks the example (bootstrap seeds first, then the online pool) and names
        # the rollout; all of its calls then get the same candidate program. The correlation id is the
        # app's own name for this piece of work (a reward may name the rollout by it instead).
        rollout = miprox("POST", f"/api/v1/online/sessions/{session}/rollouts", {"correlation_id": f"ticket-{i}"})
        row = DATA[rollout["seed"] % len(DATA)]
        llm = client.with_options(base_url=rollout["inference_url"])
        answer, outputs = run_rollout(llm, POLICY[1], row)
        score = 1.0 if normalize(answer) == row["label"] else 0.0
        scores.append(score)
        reward_info: dict = {"score": score}
        if score == 0:
            # Say which module went wrong: the proposer reads this beside the rollout, and a poor
            # rollout's named modules decide which one the next proposal rewrites.
            reward_info["feedback_by_module"] = {"answer": f"answered {answer[:80]!r}, expected {row['label']}"}
        result = miprox("POST", f"/api/v1/online/sessions/{session}/reward", {
            "rollout_id": rollout["rollout_id"], "reward_info": reward_info,
        })
        if result["duplicate"]:
            print(f"rollout {rollout['rollout_id']}: reward already recorded", file=sys.stderr)

    job = miprox("GET", f"/api/policy-optimization/online/jobs/{job_id}")
    print(f"rollouts {job['rollout_count']}, rewards {job['reward_count']}, mean score {sum(scores) / len(scores):.2f}")
    print(f"best candidate {job['best_candidate_id']} (score {job['best_score']}, {job['best_score_source']})")
    for module, text in (job.get("best_program") or {}).items():
        print(f"  {module}: {text!r}")

    # Serve the champion from now on (this ends the job), then take its prompts away.
    promoted = miprox("POST", f"/api/policy-optimization/online/jobs/{job_id}/promote",
                      {"candidate_id": job["best_candidate_id"]})
    print(f"promoted {job['best_candidate_id']}: job {promoted['status']}, serving {promoted['served_candidate_id']}")
    exported = miprox("GET", f"/api/policy-optimization/online/jobs/{job_id}/export", query={"format": "messages"})
    for module, messages in exported["modules"].items():
        print(f"export {module}: {messages[0]['content']!r}")


if __name__ == "__main__":
    try:
        main()
    except MiproxError as e:
        sys.exit(f"miprox: {e}")
