/**
 * The data behind the simulated banking task (in the spirit of Banking77, written for miprox; no
 * Banking77 text is copied). Each intent has a handful of phrasings that the task multiplies with
 * greetings and closings, a plausible "invented" label a model uses when it was not told the label
 * names, and the confusable pairs with the cue words that tell the two sides apart.
 */
export interface IntentDefinition {
  label: string;
  /** Core phrasings; they start with a capital letter and have no final punctuation. */
  phrasings: readonly string[];
  /** What a model calls this intent when nobody told it the label names. */
  inventedLabel: string;
}

export interface ConfusablePair {
  /** The two intents, in a fixed order. */
  labels: readonly [string, string];
  /** Cue words for each side, in the same order as `labels`. Matched as whole words, case-insensitive. */
  cues: readonly [readonly string[], readonly string[]];
}

export const BANKING_INTENTS: readonly IntentDefinition[] = [
  {
    label: 'card_lost',
    inventedLabel: 'lost_card',
    phrasings: [
      'I lost my card yesterday',
      "I can't find my debit card anywhere",
      'I think I left my card at a restaurant and lost it',
      'My card is missing and I have no idea where I put it',
      'I misplaced my card, can you freeze it',
      'Lost my card on the train this morning',
    ],
  },
  {
    label: 'card_stolen',
    inventedLabel: 'stolen_card',
    phrasings: [
      'My card was stolen',
      'Someone stole my wallet with my card in it',
      'I was pickpocketed and my card is gone',
      'A thief took my card at the station',
      'I got robbed last night and they took my bank card',
      'I need to report the theft of my card',
    ],
  },
  {
    label: 'card_not_working',
    inventedLabel: 'card_declined',
    phrasings: [
      'My card keeps getting declined in shops',
      'My card is not working at the terminal',
      'Why was my card rejected when I tried to pay',
      'The chip on my card seems broken',
      "My card won't work for online payments",
      'Every payment with my card is declined',
    ],
  },
  {
    label: 'pin_blocked',
    inventedLabel: 'blocked_pin',
    phrasings: [
      'My PIN is blocked',
      "I entered the wrong PIN three times and now it's locked",
      'How do I unblock my PIN',
      'My card got locked after too many PIN attempts',
      'The ATM says my PIN is blocked',
      'I typed my PIN wrong too many times',
    ],
  },
  {
    label: 'card_arrival',
    inventedLabel: 'card_delivery',
    phrasings: [
      "My new card hasn't arrived yet",
      'When will my card be delivered',
      "I ordered a card two weeks ago and I'm still waiting for it",
      'Has my card been shipped',
      'The card you sent never came in the mail',
      'How long does card delivery take',
    ],
  },
  {
    label: 'activate_card',
    inventedLabel: 'card_activation',
    phrasings: [
      'How do I activate my new card',
      'I just received my card, how do I start using it',
      "The activation of my card isn't working",
      'Where do I activate the card I got',
      'I need to set up my new card before I can use it',
      'Can you activate my card for me',
    ],
  },
  {
    label: 'change_pin',
    inventedLabel: 'pin_change',
    phrasings: [
      'How can I change my PIN',
      'I want to set a new PIN for my card',
      'Is it possible to update my PIN in the app',
      'Where do I go to change the PIN on my card',
      "I'd like a different PIN number",
      'Can I pick my own PIN',
    ],
  },
  {
    label: 'transfer_failed',
    inventedLabel: 'failed_transfer',
    phrasings: [
      'My transfer failed',
      "The bank transfer I made didn't go through",
      'I got an error when sending money to my friend',
      'My payment to another account was returned',
      'Why did my transfer get declined',
      'The money I sent bounced back to my account',
    ],
  },
  {
    label: 'transfer_pending',
    inventedLabel: 'pending_transfer',
    phrasings: [
      'My transfer is still pending',
      "The money I sent hasn't reached the recipient yet",
      'How long does a transfer stay in processing',
      'I sent money yesterday and it still shows as pending',
      'My transfer has been processing for three days',
      'When will my outgoing transfer be completed',
    ],
  },
  {
    label: 'balance_not_updated',
    inventedLabel: 'balance_issue',
    phrasings: [
      "My balance hasn't updated after a deposit",
      'I deposited a cheque but my balance is the same',
      "The money I received isn't in my balance yet",
      'Why does my balance still show the old amount',
      'My account balance looks wrong after a bank transfer',
      'Money I was sent is not showing in my balance',
    ],
  },
  {
    label: 'exchange_rate',
    inventedLabel: 'currency_exchange',
    phrasings: [
      'What exchange rate do you use',
      'The exchange rate on my purchase abroad seems wrong',
      'How is the currency conversion rate calculated',
      'Why did I get a bad rate when paying in euros',
      'Is the exchange rate different at weekends',
      'I paid more than expected because of the conversion rate',
    ],
  },
  {
    label: 'card_fees',
    inventedLabel: 'card_charges',
    phrasings: [
      'Is there a fee for using my card abroad',
      'Why was I charged a card fee this month',
      'How much does the card cost per year',
      'I see an extra charge on a foreign payment',
      'What fees apply to my card',
      'There is a foreign transaction fee on my statement',
    ],
  },
  {
    label: 'top_up_failed',
    inventedLabel: 'failed_top_up',
    phrasings: [
      "My top up didn't work",
      'I tried to add money to my account but it failed',
      'My top-up with my credit card was declined',
      "Why can't I top up my account",
      'The top up was rejected by my bank',
      'I topped up but the money never appeared',
    ],
  },
  {
    label: 'refund_not_showing',
    inventedLabel: 'missing_refund',
    phrasings: [
      "My refund isn't showing in my account",
      "The shop says they refunded me but I don't see it",
      "I returned an item and the refund hasn't appeared",
      'Where is my refund from the merchant',
      "A seller refunded my purchase a week ago and it's still missing",
      'The refund for my order is not showing up yet',
    ],
  },
  {
    label: 'cash_withdrawal_charge',
    inventedLabel: 'atm_fee',
    phrasings: [
      'Why was I charged for withdrawing cash',
      "There's a fee on my ATM withdrawal",
      'Do you charge for cash withdrawals',
      "I got a cash withdrawal fee I didn't expect",
      'How much does it cost to take out cash',
      'The ATM withdrawal had an extra charge',
    ],
  },
  {
    label: 'wrong_amount_atm',
    inventedLabel: 'atm_wrong_amount',
    phrasings: [
      'The ATM gave me less money than I asked for',
      'I withdrew 100 but the machine only gave me 50',
      'The cash machine dispensed the wrong amount',
      "The ATM didn't give me all my cash but took it from my account",
      'I received the wrong amount of cash from the ATM',
      'My withdrawal shows more than the cash I got',
    ],
  },
  {
    label: 'direct_debit_issue',
    inventedLabel: 'direct_debit',
    phrasings: [
      "A direct debit was taken from my account that I don't recognise",
      'My direct debit payment did not go out',
      'How do I cancel a direct debit',
      'The direct debit came out twice this month',
      'Why was my direct debit rejected',
      'I need help setting up a direct debit for my rent',
    ],
  },
  {
    label: 'close_account',
    inventedLabel: 'account_closure',
    phrasings: [
      'I want to close my account',
      'How do I delete my account',
      'Please cancel my account and send me the remaining balance',
      "I'd like to terminate my account with you",
      'Can I close my account online',
      "I'm leaving the bank, close everything please",
    ],
  },
  {
    label: 'verify_identity',
    inventedLabel: 'identity_verification',
    phrasings: [
      'Why do I need to verify my identity',
      'How do I prove who I am',
      'The identity check keeps failing',
      'What documents do you need to verify my ID',
      'My identity verification is taking too long',
      'Can I verify my identity with a driving licence',
    ],
  },
  {
    label: 'apple_pay',
    inventedLabel: 'apple_pay_issue',
    phrasings: [
      'How do I add my card to Apple Pay',
      "Apple Pay isn't working with my card",
      'Can I use my card with Apple Pay on my watch',
      "My card won't add to my iPhone wallet",
      'Is Apple Pay supported',
      'Apple Pay keeps failing when I pay',
    ],
  },
];

export const CONFUSABLE_PAIRS: readonly ConfusablePair[] = [
  {
    labels: ['card_lost', 'card_stolen'],
    cues: [
      ['lost', 'misplaced', "can't find", 'missing'],
      ['stolen', 'stole', 'theft', 'thief', 'pickpocketed', 'robbed'],
    ],
  },
  {
    labels: ['transfer_failed', 'transfer_pending'],
    cues: [
      ['failed', 'error', 'returned', 'bounced', "didn't go through", 'declined'],
      ['pending', 'processing', 'not reached', "hasn't reached", 'yet'],
    ],
  },
  {
    labels: ['top_up_failed', 'refund_not_showing'],
    cues: [
      ['top up', 'top-up', 'topped up', 'add money'],
      ['refund', 'refunded', 'merchant', 'seller', 'returned an item'],
    ],
  },
  {
    labels: ['card_not_working', 'pin_blocked'],
    cues: [
      ['declined', 'rejected', 'not working', 'chip', 'broken'],
      ['pin', 'locked', 'blocked', 'unblock', 'attempts'],
    ],
  },
  {
    labels: ['cash_withdrawal_charge', 'wrong_amount_atm'],
    cues: [
      ['fee', 'charged', 'charge', 'cost'],
      ['wrong amount', 'less money', 'dispensed', 'only gave', 'less'],
    ],
  },
  {
    labels: ['card_arrival', 'activate_card'],
    cues: [
      ['arrived', 'delivered', 'delivery', 'shipped', 'mail', 'waiting'],
      ['activate', 'activation', 'set up', 'start using'],
    ],
  },
  {
    labels: ['exchange_rate', 'card_fees'],
    cues: [
      ['exchange rate', 'conversion', 'rate'],
      ['fee', 'fees', 'charge', 'charged', 'cost'],
    ],
  },
];

/** Greetings and closings multiplied with the phrasings; the empty string keeps the bare phrasing. */
export const QUERY_OPENINGS: readonly string[] = ['', 'Hi, ', 'Hello, ', 'Quick question: ', 'Please help, '];
export const QUERY_CLOSINGS: readonly string[] = ['', ' What should I do?', ' Can you help?', ' Thanks.', ' This is urgent.'];
