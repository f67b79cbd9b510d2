/** The file name of a platform's template in the config dir. */
export function templateFile(name: string, platform: string): string {
  return `${name}.template.${platform}`;
}

/** The platform a config-dir file is a template for, or null (`orb-build.template.debian-12` -> `debian-12`). */
export function templatePlatform(name: string, file: string): string | null {
  const prefix = `${name}.template.`;
  return file.startsWith(prefix) && file.length > prefix.length ? file.slice(prefix.length) : null;
}

/** Builds a job script from a template: every `%%KEY%%` is replaced by its value; unknown keys stay as they are. */
export function expandTemplate(text: string, vars: Record<string, string>): string {
  return text.replace(/%%([A-Z_]+)%%/g, (whole, key: string) => vars[key] ?? whole);
}
