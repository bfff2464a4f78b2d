import { describe, expect, it } from 'vitest';
import { CANDIDATE_FIT } from '../../../src/cli/jobFormat.js';
import { printTable } from '../../../src/cli/output.js';
import { cutText, displayWidth, fitWidths, outputWidth } from '../../../src/cli/tableWidth.js';

const table = (rows: Array<Record<string, unknown>>, columns: string[], width: number, fit = CANDIDATE_FIT) => {
  let out = '';
  printTable(rows, columns, { ...fit, width, out: (s) => (out += s) });
  return out.trimEnd().split('\n');
};

describe('tables fitted to the width', () => {
  const columns = ['candidate_id', 'status', 'parent', 'module', 'rollouts', 'rewards', 'avg_reward', 'ci', 'val', 'instruction'];
  const row = {
    candidate_id: 'cand_0123456789abcdef', status: 'retired', parent: 'cand_fedcba9876543210', module: 'answer', rollouts: 1200, rewards: 1100,
    avg_reward: '0.712', ci: '[0.650, 0.770]', val: '0.700', instruction: 'Answer only from this context, quoting the sentence the answer comes from.',
  };

  it('cuts the instruction, then leaves columns out, a score with its interval; ids stay whole', () => {
    const wide = table([row], columns, 200);
    expect(wide[1]).toContain(row.instruction);
    for (const width of [120, 100, 80, 60]) {
      const lines = table([row], columns, width);
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(width);
      expect(lines[1]).toMatch(/^cand_0123456789abcdef {2}/);
      expect(lines[1]).toMatch(/ Answer only from t\S*.*…$/);
      // Never the mean without its interval.
      expect(lines[0]!.includes('AVG_REWARD')).toBe(lines[0]!.includes(' CI '));
    }
    expect(table([row], columns, 80)[0]).toBe('CANDIDATE_ID           MODULE  AVG_REWARD  CI              INSTRUCTION');
  });

  it('lets a table be wider than the width rather than cut an id', () => {
    const lines = table([{ job_id: 'pl_0123456789abcdef0123456789abcdef', name: 'a long job name that gives way' }], ['job_id', 'name'], 30, { flexible: { name: 16 } });
    expect(lines[1]).toBe('pl_0123456789abcdef0123456789abcdef  a long job name…');
    expect(fitWidths(['id', 'text'], [10, 40], 20, {})).toEqual([10, 40]);
  });

  // A Japanese instruction was measured by its length: each character takes two columns, so its rows
  // were wider than the width and the columns after a name shifted.
  it('measures wide characters by the columns they take, so rows line up and fit', () => {
    const wideColumns = (l: string) => l.length + (l.match(/[\u3000-\u9fff\uff00-\uff60]/g)?.length ?? 0);
    const rows = [
      { job_id: 'pl_1', name: '顧客の問い合わせを意図ごとに分類するジョブ（本番環境、EU）', status: 'running' },
      { job_id: 'pl_2', name: 'plain', status: 'paused' },
    ];
    const lines = table(rows, ['job_id', 'name', 'status'], 40, { flexible: { name: 16 } });
    // NAME gets 40 - 6 (JOB_ID) - 7 (running) - 4 = 23 columns: 11 wide characters and the ellipsis.
    expect(lines.map(wideColumns)).toEqual([39, 40, 39]);
    expect(lines[1]).toBe('pl_1    顧客の問い合わせを意図…  running');
    expect(lines[2]).toBe(`pl_2    ${'plain'.padEnd(23)}  paused`);
    expect(displayWidth('e\u0301😀')).toBe(3); // a combining accent takes none, the emoji two
    expect(cutText('😀😀😀', 4)).toBe('😀…');
  });

  // jobs watch cuts its live line to the terminal's width less one: on a 1-column terminal (or
  // COLUMNS=1) that is 0, and the ellipsis alone took the one column the line must leave free.
  it('cuts to nothing where not even the ellipsis fits', () => {
    expect([cutText('status running', 1), cutText('status running', 0), cutText('status running', -3), cutText('', 0)]).toEqual(['…', '', '', '']);
    expect(cutText('日本', 1)).toBe('…');
  });

  it('takes COLUMNS, else the terminal width, else no limit (piped)', () => {
    expect(outputWidth({ COLUMNS: '80' }, { isTTY: false })).toBe(80);
    expect(outputWidth({ COLUMNS: '80' }, { isTTY: true, columns: 200 })).toBe(80);
    expect(outputWidth({}, { isTTY: true, columns: 132 })).toBe(132);
    expect(outputWidth({ COLUMNS: '' }, { isTTY: false })).toBe(Number.POSITIVE_INFINITY);
    expect(outputWidth({ COLUMNS: 'wide' }, { isTTY: false })).toBe(Number.POSITIVE_INFINITY);
    expect(outputWidth({ COLUMNS: '0' }, { isTTY: true, columns: 90 })).toBe(90);
  });
});
