// With ReportBatchItemFailures enabled on the event source mapping, return the ids of the
// messages that failed: only those go back to the queue, the rest are deleted.
const processMessage = async (message) => {
  const order = JSON.parse(message.body);
  if (!(order.amount > 0)) throw new Error("amount must be positive");
  console.log(`order ${order.order_id}: charged ${order.amount}`);
};

export const handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    try {
      await processMessage(record);
    } catch (err) {
      console.error(`message ${record.messageId} failed:`, err.message);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
