// A small evaluator of the CloudFormation intrinsic functions serverless.yml uses, so tests can check
// what a template resolves to (IAM resources, environment, the state machine definition) without AWS.
// It applies CloudFormation's own restrictions where they bite us: Fn::Join's delimiter and Fn::Sub's
// string must be literal strings.

export interface EvalContext {
  /** Pseudo parameters: AWS::Partition, AWS::Region, AWS::AccountId, ... */
  pseudo: Record<string, string>;
  /** The template's Conditions section. */
  conditions?: Record<string, unknown>;
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: Json, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

function list(v: Json, what: string): Json[] {
  if (!Array.isArray(v)) throw new Error(`${what} must be a list, got ${JSON.stringify(v)}`);
  return v;
}

function sub(template: string, vars: Record<string, Json>, ctx: EvalContext): string {
  return template.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
    if (bang === '!') return `\${${name}}`; // ${!Literal}
    if (name in vars) return str(evaluate(vars[name], ctx), `Fn::Sub variable ${name}`);
    if (name in ctx.pseudo) return ctx.pseudo[name] as string;
    const dot = name.indexOf('.');
    if (dot > 0) return `GetAtt:${name}`;
    return `Ref:${name}`;
  });
}

function conditionHolds(name: string, ctx: EvalContext): boolean {
  const def = ctx.conditions?.[name];
  if (def === undefined) throw new Error(`unknown condition ${name}`);
  const v = evaluate(def, ctx);
  if (typeof v !== 'boolean') throw new Error(`condition ${name} is not a boolean`);
  return v;
}

/** Evaluates intrinsics; Fn::GetAtt [Id, Attr] becomes the string "GetAtt:Id.Attr", other Refs "Ref:Id". */
export function evaluate(node: Json, ctx: EvalContext): Json {
  if (Array.isArray(node)) return node.map((n) => evaluate(n, ctx));
  if (!isObject(node)) return node;
  const keys = Object.keys(node);
  if (keys.length === 1) {
    const key = keys[0] as string;
    const arg = node[key];
    switch (key) {
      case 'Ref': {
        const name = str(arg, 'Ref');
        return ctx.pseudo[name] ?? `Ref:${name}`;
      }
      case 'Fn::GetAtt': {
        const [id, attr] = list(arg, 'Fn::GetAtt');
        return `GetAtt:${str(id, 'Fn::GetAtt id')}.${str(attr, 'Fn::GetAtt attribute')}`;
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return sub(arg, {}, ctx);
        const [template, vars] = list(arg, 'Fn::Sub');
        if (!isObject(vars)) throw new Error('Fn::Sub variables must be a map');
        return sub(str(template, 'Fn::Sub string (no functions allowed)'), vars, ctx);
      }
      case 'Fn::Join': {
        const [delimiter, values] = list(arg, 'Fn::Join');
        const d = str(delimiter, 'Fn::Join delimiter (no functions allowed)');
        return list(evaluate(values, ctx), 'Fn::Join values')
          .map((v) => str(v, 'Fn::Join value'))
          .join(d);
      }
      case 'Fn::Split': {
        const [delimiter, source] = list(arg, 'Fn::Split');
        return str(evaluate(source, ctx), 'Fn::Split source').split(str(delimiter, 'Fn::Split delimiter'));
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = list(arg, 'Fn::If');
        return evaluate(conditionHolds(str(condition, 'Fn::If condition'), ctx) ? whenTrue : whenFalse, ctx);
      }
      case 'Fn::Equals': {
        const [a, b] = list(arg, 'Fn::Equals');
        return JSON.stringify(evaluate(a, ctx)) === JSON.stringify(evaluate(b, ctx));
      }
      case 'Fn::Not': {
        const [a] = list(arg, 'Fn::Not');
        return !evaluate(a, ctx);
      }
      case 'Condition':
        return conditionHolds(str(arg, 'Condition'), ctx);
      default:
        if (key.startsWith('Fn::')) throw new Error(`${key} is not supported by this evaluator`);
    }
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, evaluate(v, ctx)]));
}
