import kleur from 'kleur';

kleur.enabled = process.stdout.isTTY === true && !process.env.NO_COLOR;

/** Colours for human output; plain on a pipe or with NO_COLOR. */
export const paint = kleur;

/** Prints a value as one JSON document (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints a success message: JSON `{ok:true,message}` or the plain line. */
export function printSuccess(json: boolean, message: string): void {
  if (json) printJson({ ok: true, message });
  else console.log(message);
}
