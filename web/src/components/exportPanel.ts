import { EXPORT_FORMATS, type ExportFormat } from '../api.js';
import { h, setText, uid } from '../dom.js';

const FORMAT_LABELS: Record<ExportFormat, string> = {
  json: 'JSON (templates per module)',
  messages: 'Chat messages per module',
  dspy: 'DSPy program state',
};

/**
 * Getting the result out: the program the job serves (or its champion) in a chosen format, shown as
 * JSON and offered as a file. The text is put in a <pre> as text, never parsed as markup (it holds
 * LLM-written instructions).
 */
export class ExportPanel {
  readonly el: HTMLElement;
  private readonly format: HTMLSelectElement;
  private readonly button: HTMLButtonElement;
  private readonly output = h('pre', { class: 'export-output', 'data-testid': 'export-output', tabindex: '0', hidden: true });
  private readonly download = h('a', { class: 'btn', 'data-testid': 'export-download', hidden: true }, 'Download');
  private readonly status = h('p', { class: 'muted', role: 'status' });
  private url: string | null = null;
  /** The candidate the job serves (or its champion) now, and when the shown export was made. */
  private current: string | null = null;
  private exportedFor: string | null = null;
  /** Whether `current` is what the job serves (ended or paused), not the champion of a running job. */
  private served = true;

  constructor(private readonly jobId: string, private readonly load: (format: ExportFormat) => Promise<unknown>) {
    const formatId = uid('export-format');
    this.format = h('select', { id: formatId },
      ...EXPORT_FORMATS.map((f) => h('option', { value: f }, FORMAT_LABELS[f])));
    this.button = h('button', { type: 'button', class: 'btn', 'data-action': 'export', onclick: () => void this.run() }, 'Export');
    this.el = h('section', { class: 'panel export-panel', 'aria-labelledby': 'export-title' },
      h('div', { class: 'panel-head' }, h('h2', { id: 'export-title' }, 'Export the program')),
      h('p', { class: 'muted' }, 'What the job serves once it ended, else its current champion, exactly as the proxy renders it (json, messages), or a state file for DSPy\'s program.load (dspy).'),
      h('div', { class: 'toolbar' }, h('label', { for: formatId }, 'Format'), this.format, this.button, this.download),
      this.status,
      this.output);
  }

  /**
   * The candidate the export stands for now: what the job serves (`served`), else its champion. An export shown
   * for another one (a promotion, a rollback, a new champion) is taken down rather than left
   * claiming a candidate the job no longer serves.
   */
  sync(candidateId: string | null, served = true): void {
    this.current = candidateId;
    this.served = served;
    if (this.output.hidden || candidateId === this.exportedFor) return;
    this.output.hidden = true;
    this.output.textContent = '';
    this.download.hidden = true;
    // A running job serves no one candidate: its champion changed, and "now serves" was not true.
    const now = candidateId === null ? 'The job now has no champion' : served ? `The job now serves ${candidateId}` : `The job's champion is now ${candidateId}`;
    setText(this.status, `${now}: export again for its program.`);
  }

  private async run(): Promise<void> {
    const format = this.format.value as ExportFormat;
    // Not disabled while exporting: a disabled button drops keyboard focus to the page body.
    if (this.button.getAttribute('aria-busy') === 'true') return;
    const exportedFor = this.current;
    this.button.setAttribute('aria-busy', 'true');
    setText(this.status, 'Exporting…');
    try {
      const body = await this.load(format);
      const text = `${JSON.stringify(body, null, 2)}\n`;
      this.output.textContent = text;
      this.output.hidden = false;
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      this.download.setAttribute('href', this.url);
      this.download.setAttribute('download', `${this.jobId}-${format}.json`);
      this.download.hidden = false;
      this.exportedFor = exportedFor;
      setText(this.status, `Exported as ${format}.`);
      // The job moved on while the export was on its way.
      this.sync(this.current, this.served);
    } catch (err) {
      // An earlier export left on screen under this line read as the format just asked for.
      this.output.hidden = true;
      this.output.textContent = '';
      this.download.hidden = true;
      setText(this.status, `Could not export: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.button.removeAttribute('aria-busy');
    }
  }

  destroy(): void {
    if (this.url) URL.revokeObjectURL(this.url);
  }
}
