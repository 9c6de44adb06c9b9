/**
 * The one rule for user ids (issue 11): a JWT `sub`, the `{userId}` of a REST
 * path and a `userId` in a body all follow it, so a user who can authenticate
 * can also name their own account everywhere. A `sub` outside the rule is
 * refused at authentication with a clear reason instead of yielding a user
 * who can spend but cannot read their balance.
 */
export const USER_ID_MAX_LENGTH = 200;
export const USER_ID_PATTERN = /^[A-Za-z0-9._:@|+-]+$/;

/** Why `value` is not a user id, or undefined when it is one. */
export const userIdProblem = (value: string): string | undefined => {
  if (value.length === 0) return 'is empty';
  if (value.length > USER_ID_MAX_LENGTH) return `is longer than ${USER_ID_MAX_LENGTH} characters`;
  if (!USER_ID_PATTERN.test(value)) return 'may only contain letters, digits and . _ : @ | + -';
  return undefined;
};
