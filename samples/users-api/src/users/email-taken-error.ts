/** A user with this email exists already; the controller answers 409. */
export class EmailTakenError extends Error {
  override name = 'EmailTakenError';
  constructor(readonly email: string) {
    super(`a user with email '${email}' exists already`);
  }
}
