import type { BankingTask } from './bankingTask.js';

/**
 * MIPRO asks the proposer model to describe the task inputs before proposing. The simulated
 * proposer answers that request with a short summary of the banking queries it recognises, instead
 * of proposing instructions.
 */
const SUMMARY_REQUEST = /\b(describe|summari[sz]e|summary)\b/i;
const PROPOSAL_REQUEST = /"instructions"\s*:/;

export function isDatasetSummaryRequest(prompt: string): boolean {
  return SUMMARY_REQUEST.test(prompt) && !PROPOSAL_REQUEST.test(prompt);
}

const TOPICS: Array<[RegExp, string]> = [
  [/^card_|_card$|apple_pay/, 'cards'],
  [/pin/, 'PINs'],
  [/transfer|balance/, 'transfers and balances'],
  [/top_up|refund/, 'top-ups and refunds'],
  [/fee|charge|exchange/, 'fees and exchange rates'],
  [/atm/, 'ATM withdrawals'],
  [/account|identity|direct_debit/, 'their account'],
];

export function summarizeInputs(prompt: string, task: BankingTask): string {
  const seen = task.examples.filter((e) => prompt.includes(e.text));
  if (seen.length === 0) {
    return 'The inputs do not look like the banking customer messages this simulated proposer knows; no summary is available.';
  }
  const labels = new Set(seen.map((e) => e.label));
  const topics = TOPICS.filter(([re]) => [...labels].some((l) => re.test(l))).map(([, topic]) => topic);
  const topicText = topics.length > 1 ? `${topics.slice(0, -1).join(', ')} and ${topics[topics.length - 1]}` : (topics[0] ?? 'banking');
  return (
    `The inputs are short, informal messages from bank customers, one or two sentences each, often with a greeting ` +
    `or a closing plea for help. Each describes a single problem or question, here about ${topicText}. ` +
    `Several problems sound alike (a lost versus a stolen card, a failed versus a pending transfer), so the wording matters.`
  );
}
