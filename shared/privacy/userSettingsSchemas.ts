import { z } from '../openapi/zod.js';
import {
  MAX_PATTERN_LENGTH,
  MAX_REDACTION_PATTERNS,
  PATTERN_NAME,
  patternProblem,
} from '../traces/redaction/redactionRules.js';

/** Retention is whole days, a day to ten years; null keeps the files for as long as the account exists. */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;

const RetentionDays = z
  .number()
  .int()
  .min(MIN_RETENTION_DAYS)
  .max(MAX_RETENTION_DAYS)
  .nullable();

const RedactionPatternSchema = z
  .object({
    name: z.string().regex(PATTERN_NAME).openapi({
      description: 'Names the mask, `[REDACTED:<name>]`, and the count in `redaction_counts` (`custom:<name>`).',
      example: 'order_number',
    }),
    pattern: z
      .string()
      .min(1)
      .max(MAX_PATTERN_LENGTH)
      .superRefine((pattern, ctx) => {
        const problem = patternProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: `The pattern cannot be used: ${problem}.` });
      })
      .openapi({
        description:
          `An RE2 regular expression (https://github.com/google/re2/wiki/Syntax), at most ${MAX_PATTERN_LENGTH} ` +
          'characters. RE2 has no backreferences or lookaround and matches in time linear in the text, so no ' +
          'pattern can stall indexing. A pattern that matches the empty string is refused.',
        example: 'ORD-[0-9]{8}',
      }),
  })
  .openapi('RedactionPattern');

const RedactionSchema = z
  .object({
    passwords: z.literal(true).openapi({
      description:
        'Always on: what is typed into a password field (recognised from the selector, `type=password`, a ' +
        'current-password/new-password autocomplete, or the recorder\'s field metadata) never reaches the trace.',
    }),
    email_addresses: z.boolean().openapi({ description: 'Mask e-mail addresses in every text of the trace. Default false.' }),
    card_numbers: z.boolean().openapi({
      description: 'Mask payment card numbers (13-19 digits, Luhn-checked, first digit 2-6). Default true.',
    }),
    patterns: z.array(RedactionPatternSchema).max(MAX_REDACTION_PATTERNS).openapi({
      description: `Your own patterns, at most ${MAX_REDACTION_PATTERNS}, applied after the rules above.`,
    }),
  })
  .openapi('RedactionSettings');

export const UserSettingsSchema = z
  .object({
    session_retention_days: RetentionDays.openapi({
      description:
        'Days after its creation that a session\'s files (trace, original, screenshots) are kept; then the daily ' +
        'retention run deletes them and the session becomes `expired`. null: kept. Default from configuration ' +
        '(90 unless set).',
      example: 90,
    }),
    example_retention_days: RetentionDays.openapi({
      description: 'Days after its creation that an example\'s messages are kept; then they are deleted. null: kept.',
      example: null,
    }),
    redaction: RedactionSchema,
    updated_at: z.iso.datetime().nullable().openapi({ description: 'Last change; null while the defaults apply.' }),
  })
  .openapi('UserSettings');

export const UpdateUserSettingsBody = z
  .strictObject({
    session_retention_days: RetentionDays.optional(),
    example_retention_days: RetentionDays.optional(),
    redaction: z
      .strictObject({
        email_addresses: z.boolean().optional(),
        card_numbers: z.boolean().optional(),
        patterns: z.array(RedactionPatternSchema).max(MAX_REDACTION_PATTERNS).optional(),
      })
      .optional(),
  })
  .superRefine((body, ctx) => {
    const names = new Set<string>();
    body.redaction?.patterns?.forEach((rule, index) => {
      if (names.has(rule.name)) {
        ctx.addIssue({ code: 'custom', path: ['redaction', 'patterns', index, 'name'], message: 'Pattern names must be unique.' });
      }
      names.add(rule.name);
    });
  })
  .openapi('UpdateUserSettings', {
    description:
      'Any of the fields; those left out keep their value. `redaction.patterns` replaces the whole list. Unknown ' +
      'fields are refused. New rules apply to uploads indexed from then on; stored traces are not rewritten.',
    example: { session_retention_days: 30, redaction: { email_addresses: true } },
  });

export type UserSettingsResponse = z.infer<typeof UserSettingsSchema>;
export type UpdateUserSettingsInput = z.infer<typeof UpdateUserSettingsBody>;
