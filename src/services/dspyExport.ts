import type { Demo } from '../optimizer/core/demos.js';
import { ValidationError } from '../shared/errors.js';

/**
 * A candidate program as a DSPy program state: what `program.save("program.json")` writes and
 * `program.load("program.json")` reads (DSPy's BaseModule.dump_state / Predict.dump_state). Its
 * top-level keys are the predictors' names plus `metadata`; each predictor's state is
 * `{traces, train, demos, signature: {instructions, fields: [{prefix, description}]}, lm}`.
 *
 * Mapping (docs/API.md, "dspy"): one predictor per module, named after the module; the module's text
 * in this candidate becomes `signature.instructions` verbatim (its `{placeholders}` included: the
 * proxy fills them per call, DSPy gives the same values as input fields). `signature.fields` is
 * empty: DSPy's Signature.load_state zips the saved fields with the program's own fields by position
 * (names play no part) and overwrites each one's prefix and description, so any field miprox listed
 * would either repeat DSPy's defaults (nothing gained) or land on another field or replace the
 * user's own description (`context: str = dspy.InputField(desc="retrieved passages")`); an empty list
 * leaves the user's signature as it is. The placeholders, which are the input fields the text needs,
 * are listed by name in `metadata.miprox.input_fields` (DSPy ignores that key). Demos: miprox sees
 * a demo as chat turns, not as the user's signature fields, so each becomes `{augmented: true, input_turns: [{role, content}], output}` in the proxy's order (docs/API.md,
 * "dspy": map them onto your fields, or use format=messages); a templated module's demo adds each of
 * its variables as a field of that name, which is the signature's input field of that name (a demo
 * dict is keyed by field name). `lm` is null (the user's LM stays).
 */
export interface DspyFieldState { prefix: string; description: string }
export interface DspyPredictorState {
  traces: never[];
  train: never[];
  demos: Record<string, unknown>[];
  signature: { instructions: string; fields: DspyFieldState[] };
  lm: null;
}

/**
 * DSPy's load compares `metadata.dependency_versions` key by key with its own (python, dspy,
 * cloudpickle) and warns on a mismatch. miprox is none of them, so it claims no versions: an empty
 * object loads without a warning, where made-up versions would warn about a Python miprox never ran.
 */
export interface DspyMetadata { dependency_versions: Record<string, never>; miprox: Record<string, unknown> }

/** `metadata` is the file's own key: a predictor of that name would be overwritten by it. */
const RESERVED = 'metadata';
/** A demo dict's own keys: a variable of one of these names would overwrite them. */
const DEMO_KEYS: readonly string[] = ['augmented', 'input_turns', 'output'];

export function dspyProgramState(
  /** `placeholders`: the text's input fields (none for a discovered module's literal text). */
  modules: readonly { name: string; text: string; placeholders: readonly string[]; demos?: readonly Demo[] }[],
  miprox: Record<string, unknown>,
): Record<string, DspyPredictorState | DspyMetadata> {
  const state: Record<string, DspyPredictorState | DspyMetadata> = {};
  const inputFields: Record<string, readonly string[]> = {};
  for (const m of modules) {
    if (m.name === RESERVED) {
      throw new ValidationError('a module named "metadata" cannot be exported as a DSPy predictor', [
        { path: 'format', message: 'DSPy keeps its own "metadata" key beside the predictors; use format=json' },
      ]);
    }
    state[m.name] = {
      traces: [],
      train: [],
      demos: (m.demos ?? []).map((d) => dspyDemo(m.name, d)),
      signature: { instructions: m.text, fields: [] },
      lm: null,
    };
    inputFields[m.name] = m.placeholders;
  }
  state[RESERVED] = { dependency_versions: {}, miprox: { ...miprox, input_fields: inputFields } };
  return state;
}

/** One demo dict: its variables as input fields beside the turns and the answer. */
function dspyDemo(module: string, d: Demo): Record<string, unknown> {
  const variables = Object.entries(d.variables ?? {});
  const clash = variables.find(([name]) => DEMO_KEYS.includes(name));
  if (clash) {
    throw new ValidationError(`module "${module}" has a placeholder {${clash[0]}}, which a DSPy demo dict already uses`, [
      { path: 'format', message: `a demo of module "${module}" cannot carry its variable "${clash[0]}" as a field beside the demo's own "${clash[0]}"; use format=json` },
    ]);
  }
  // fromEntries defines its keys: a placeholder may be named `__proto__`.
  return { augmented: true, ...Object.fromEntries(variables), input_turns: d.input, output: d.output };
}
