// An EventBridge schedule (e.g. cron(0 19 * * ? *)) invokes this asynchronously; nobody reads
// the return value, so log what happened and throw on failure (Lambda retries twice).
export const handler = async (event) => {
  const firedAt = new Date(event.time);
  const reportDay = new Date(firedAt.getTime() - 86_400_000).toISOString().slice(0, 10);
  console.log(`rule ${event.resources[0]} fired at ${firedAt.toISOString()}`);
  console.log(`building the report for ${reportDay} in region ${process.env.AWS_REGION}`);
  const rows = [{ day: reportDay, signups: 17, orders: 4 }];
  return { report_day: reportDay, rows: rows.length };
};
