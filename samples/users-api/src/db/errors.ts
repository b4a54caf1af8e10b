/** SQLSTATE 23505: both `pg` and PGlite put the server's code on the error they throw. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
