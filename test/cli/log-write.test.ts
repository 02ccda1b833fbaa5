// The CLI's filter of the Lambdas' log lines: only the refusal the command ends with is left to its final line.
import { describe, expect, it } from 'vitest';
import { cliLogWrite } from '../../local/cli/exit-status.ts';

const line = (message: string, name: string, level = 'error'): string => JSON.stringify({ level, message, error: { name, message: 'why' } });

function written(endingTask: 'Prepare' | 'PlanSync', verbose: boolean, lines: string[]): string[] {
  const out: string[] = [];
  const write = cliLogWrite((l) => out.push(l), verbose, endingTask);
  for (const l of lines) write(l);
  return out;
}

describe('cliLogWrite', () => {
  it("transfer: drops Prepare's refusal (the final line says it), keeps other tasks' and other failures' lines", () => {
    const refusal = line('Prepare failed', 'Transfer.SourceNotFound');
    const retried = line('Prepare failed', 'Box.ServerError');
    const commit = line('Commit failed', 'Transfer.InvalidInput');
    const warning = line('Prepare failed', 'Transfer.SourceNotFound', 'warn');
    expect(written('Prepare', false, [refusal, retried, commit, warning, 'not json'])).toEqual([retried, commit, warning, 'not json']);
  });

  it("sync: drops PlanSync's refusal but keeps a nested transfer's Prepare refusing one object, which no final line names", () => {
    const plan = line('PlanSync failed', 'Transfer.DestinationNotFound');
    const nested = line('Prepare failed', 'Transfer.SourceNotFound');
    expect(written('PlanSync', false, [plan, nested])).toEqual([nested]);
  });

  it('--verbose writes every line', () => {
    const plan = line('PlanSync failed', 'Transfer.DestinationNotFound');
    expect(written('PlanSync', true, [plan])).toEqual([plan]);
  });
});
