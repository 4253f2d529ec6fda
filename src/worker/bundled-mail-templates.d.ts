/**
 * MAIL_TEMPLATES_DIR's files as the Worker build found them (scripts/build-mail-templates.ts),
 * by path under the directory; wrangler.toml's [alias] points this name at the generated module.
 */
declare module "bundled-mail-templates" {
  const files: Readonly<Record<string, string>>;
  export default files;
}
