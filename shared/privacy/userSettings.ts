import type { Kysely } from 'kysely';
import type { PrivacyConfig } from '../config.js';
import type { Database } from '../db/schema.js';
import type { RedactionRuleSettings } from '../traces/redaction/redactionRules.js';
import { DEFAULT_REDACTION_RULES } from '../traces/redaction/traceRedactor.js';
import type { UpdateUserSettingsInput, UserSettingsResponse } from './userSettingsSchemas.js';
import { findUserSettings, insertDefaultUserSettings, upsertUserSettings, type UserSettingsRow } from './userSettingsRepository.js';

/**
 * A user's retention and redaction settings. A user registers with the configured defaults written down (so a
 * later change of configuration does not change what they had); a user without a row (created before these
 * settings existed, or by an operator) follows the configuration as it is.
 */

export interface EffectiveSettings {
  sessionRetentionDays: number | null;
  exampleRetentionDays: number | null;
  redaction: RedactionRuleSettings;
  updatedAt: Date | null;
}

export function effectiveSettings(row: UserSettingsRow | undefined, defaults: PrivacyConfig): EffectiveSettings {
  if (!row) {
    return {
      sessionRetentionDays: defaults.defaultSessionRetentionDays,
      exampleRetentionDays: defaults.defaultExampleRetentionDays,
      redaction: DEFAULT_REDACTION_RULES,
      updatedAt: null,
    };
  }
  return {
    sessionRetentionDays: row.session_retention_days,
    exampleRetentionDays: row.example_retention_days,
    redaction: redactionRulesOf(row),
    updatedAt: row.updated_at,
  };
}

/** The content rules the indexer applies to a user's uploads. */
export function redactionRulesOf(row: UserSettingsRow | undefined): RedactionRuleSettings {
  if (!row) return DEFAULT_REDACTION_RULES;
  return { emailAddresses: row.redact_email_addresses, cardNumbers: row.redact_card_numbers, patterns: row.redaction_patterns };
}

function toResponse(settings: EffectiveSettings): UserSettingsResponse {
  return {
    session_retention_days: settings.sessionRetentionDays,
    example_retention_days: settings.exampleRetentionDays,
    redaction: {
      passwords: true,
      email_addresses: settings.redaction.emailAddresses,
      card_numbers: settings.redaction.cardNumbers,
      patterns: settings.redaction.patterns.map(({ name, pattern }) => ({ name, pattern })),
    },
    updated_at: settings.updatedAt?.toISOString() ?? null,
  };
}

export async function getUserSettings(db: Kysely<Database>, defaults: PrivacyConfig, userId: string): Promise<UserSettingsResponse> {
  return toResponse(effectiveSettings(await findUserSettings(db, userId), defaults));
}

/** Merges the change into what is in force and writes it whole, in one transaction (a row lock orders PATCHes). */
export async function updateUserSettings(
  db: Kysely<Database>,
  defaults: PrivacyConfig,
  userId: string,
  change: UpdateUserSettingsInput,
): Promise<UserSettingsResponse> {
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().executeTakeFirst();
    const current = effectiveSettings(await findUserSettings(trx, userId), defaults);
    const row = await upsertUserSettings(trx, {
      user_id: userId,
      session_retention_days: change.session_retention_days !== undefined ? change.session_retention_days : current.sessionRetentionDays,
      example_retention_days: change.example_retention_days !== undefined ? change.example_retention_days : current.exampleRetentionDays,
      redact_email_addresses: change.redaction?.email_addresses ?? current.redaction.emailAddresses,
      redact_card_numbers: change.redaction?.card_numbers ?? current.redaction.cardNumbers,
      redaction_patterns: JSON.stringify(change.redaction?.patterns ?? current.redaction.patterns),
    });
    return toResponse(effectiveSettings(row, defaults));
  });
}

/** At registration: the defaults in force now become the new user's own. */
export async function writeDefaultSettings(db: Kysely<Database>, defaults: PrivacyConfig, userId: string): Promise<void> {
  await insertDefaultUserSettings(db, {
    user_id: userId,
    session_retention_days: defaults.defaultSessionRetentionDays,
    example_retention_days: defaults.defaultExampleRetentionDays,
    redact_email_addresses: DEFAULT_REDACTION_RULES.emailAddresses,
    redact_card_numbers: DEFAULT_REDACTION_RULES.cardNumbers,
    redaction_patterns: JSON.stringify(DEFAULT_REDACTION_RULES.patterns),
  });
}
