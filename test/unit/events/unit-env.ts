/**
 * Import first: the configuration the shared clients read at import. Unit tests make no
 * call, so the names are placeholders; values already set (another tier) are kept.
 */
const placeholders: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'unit',
  AWS_SECRET_ACCESS_KEY: 'unit',
  TABLE_NAME: 'routes-unit',
  EVENT_BUS_NAME: 'bus-unit',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};
for (const [name, value] of Object.entries(placeholders)) process.env[name] ??= value;

export {};
