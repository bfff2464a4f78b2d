import { describe, expect, it } from 'vitest';
import { liftText } from '../../web/src/components/jobHeader.js';

describe('job header: lift over baseline', () => {
  it('names the lift\'s source, which may differ from the best and baseline scores\' source', () => {
    // best_score and baseline_score on val (0.000 and 1.000) beside an online lift of +0.328: without
    // its source the header read as if champion minus control were +0.328 on the same numbers.
    expect(liftText({ estimate: 0.3277, ci: [-0.6256, 1], paired: false, source: 'online', significant: false })).toBe('+0.328 [−0.626, 1.000] · online');
    expect(liftText({ estimate: 0.1, ci: [0.02, 0.18], paired: true, source: 'val', significant: true })).toBe('+0.100 [0.020, 0.180] · val, paired');
    expect(liftText(null)).toBe('—');
  });
});
