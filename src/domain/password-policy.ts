/**
 * The password policy, applied wherever a person chooses a password (user creation, reset,
 * own change, student accounts). Length is what matters (NIST SP 800-63B): at least
 * PASSWORD_MIN_LENGTH characters, at most PASSWORD_MAX_LENGTH, not the username itself.
 * Generated passwords (randomPassword: 16 base64url characters) always pass.
 */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 200;

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, username: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `password must have at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `password must have at most ${PASSWORD_MAX_LENGTH} characters`;
  if (password.trim().length === 0) return 'password must not be blank';
  if (password.toLowerCase() === username.toLowerCase()) return 'password must not be the username';
  return undefined;
}
