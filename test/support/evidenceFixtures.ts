/** Evidence shared by the success-criteria tests of the domain and of the gates CLI. */

/** Telegram's 17 success criteria, each exactly on its passing side of the boundary. */
export const TELEGRAM_PASSING = {
  uptimePercent: 99.91,
  p95LatencyMs: 199.9,
  errorRate: 0.99,
  cpuUtilization: 79.9,
  memoryUtilization: 84.9,
  diskUtilization: 89.9,
  dbQueryMs: 49.9,
  winRate: 80,
  riskRewardRatio: 3,
  maxDrawdown: 4.99,
  profitFactor: 2.0,
  sharpeRatio: 1.5,
  deploymentSuccess: 100,
  rollbackSeconds: 299,
  monitoringCoverage: 100,
  alertResponseMinutes: 4.9,
  documentationCoverage: 100,
};
