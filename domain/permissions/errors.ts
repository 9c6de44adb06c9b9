/**
 * Why a Permissions command was refused. Repeats that change nothing
 * (assigning a role already held, revoking one not held, suspending a
 * suspended user) are not errors: they succeed with no events.
 */
export type PermissionsError =
  | { readonly _tag: 'UnknownRole'; readonly role: string }
  | { readonly _tag: 'UnknownAction'; readonly action: string }
  | {
      readonly _tag: 'InvalidCommand';
      readonly field: 'by' | 'at' | 'reason';
      readonly problem: 'empty' | 'too_long' | 'not_a_string' | 'not_an_instant';
    };
