// GitHub's own expression evaluator (@actions/expressions) behind a JSON-lines pipe, for
// tests/support/expressions.py. One request per stdin line, one answer per stdout line:
//
//   node server.mjs <node_modules/@actions/expressions/dist>
//   -> {"expr": "...", "contexts": {...}, "status": "success" | null, "condition": false}
//   <- {"kind": "string", "value": ..., "text": "..." | null, "truthy": true} | {"error": "..."}
//
// status: the job status seen by success()/failure()/cancelled()/always(); null forbids them.
// condition: an if: - without a status function it means success() && (...).
// In contexts, an object with the key STRICT ([what, hint]) is a dictionary whose missing keys
// are an error (a typo in a test, not null); one with CASE_SENSITIVE has exact keys (env).
// value is the result as JSON (a non-finite number as the string "NaN", "Infinity"...), text
// the string GitHub would coerce it to (null for arrays and objects).
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const dist = process.argv[2];
const load = (name) => import(pathToFileURL(`${dist}/${name}`).href);
const { Lexer, Parser, Evaluator, data } = await load("index.js");
const { TokenType } = await load("lexer.js");
const { FunctionCall } = await load("ast.js");
const { truthy } = await load("result.js");

const STRICT = "\u0000strict";
const CASE_SENSITIVE = "\u0000case-sensitive";
const STATUS_FUNCTIONS = ["success", "failure", "cancelled", "always"];

class StrictDictionary extends data.Dictionary {
  constructor(what, hint, pairs) {
    super(...pairs);
    this.what = what;
    this.hint = hint;
  }
  get(key) {
    const v = super.get(key);
    if (v === undefined) throw new Error(`${this.what}.${key} is not defined${this.hint}`);
    return v;
  }
}

class CaseSensitiveDictionary extends data.Dictionary {
  add(key, value) {
    if (!Object.hasOwn(this.indexMap, key)) {
      this.keys.push(key);
      this.v.push(value);
      this.indexMap[key] = this.v.length - 1;
    }
  }
  get(key) {
    return Object.hasOwn(this.indexMap, key) ? this.v[this.indexMap[key]] : undefined;
  }
  pairs() {
    return this.keys.map((key) => ({ key, value: this.v[this.indexMap[key]] }));
  }
}

function toData(val) {
  if (Array.isArray(val)) return new data.Array(...val.map(toData));
  if (val === null || typeof val !== "object") return data.reviver("", val);
  const pairs = Object.keys(val)
    .filter((k) => k !== STRICT && k !== CASE_SENSITIVE)
    .map((key) => ({ key, value: toData(val[key]) }));
  if (Object.hasOwn(val, STRICT)) return new StrictDictionary(...val[STRICT], pairs);
  if (Object.hasOwn(val, CASE_SENSITIVE)) return new CaseSensitiveDictionary(...pairs);
  return new data.Dictionary(...pairs);
}

function callsStatusFunction(node) {
  if (node instanceof FunctionCall && STATUS_FUNCTIONS.includes(node.functionName.lexeme.toLowerCase())) {
    return true;
  }
  const isNode = (x) => x !== null && typeof x === "object" && typeof x.accept === "function";
  return Object.values(node).some((child) =>
    Array.isArray(child) ? child.some((c) => isNode(c) && callsStatusFunction(c)) : isNode(child) && callsStatusFunction(child),
  );
}

function statusFunctions(status) {
  return new Map(
    STATUS_FUNCTIONS.map((name) => [
      name,
      {
        name,
        minArgs: 0,
        maxArgs: 0,
        call: () => {
          if (status === null) throw new Error(`${name}() is only allowed in if: conditions`);
          return new data.BooleanData(name === "always" || name === status);
        },
      },
    ]),
  );
}

function answer(result) {
  const finite = result.kind !== data.Kind.Number || Number.isFinite(result.value);
  return {
    kind: data.Kind[result.kind].toLowerCase(),
    value: finite ? JSON.parse(JSON.stringify(result, data.replacer)) : String(result.value),
    text: result.primitive ? result.coerceString() : null,
    truthy: truthy(result),
  };
}

function evaluate({ expr, contexts = {}, status = null, condition = false }) {
  const context = toData(contexts);
  const functions = statusFunctions(status);
  const names = context.pairs().map((p) => p.key);
  const tokens = new Lexer(expr).lex().tokens;
  if (tokens.every((t) => t.type === TokenType.EOF)) throw new Error("empty expression");
  const tree = new Parser(tokens, names, [...functions.values()]).parse();
  if (condition && status !== "success" && !callsStatusFunction(tree)) {
    return answer(new data.BooleanData(false)); // success() && (...), not evaluated
  }
  return answer(new Evaluator(tree, context, functions).evaluate());
}

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  let out;
  try {
    out = evaluate(JSON.parse(line));
  } catch (e) {
    out = { error: e instanceof Error ? e.message : String(e) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
