// Drives the Salesforce sandbox with a real third-party client (jsforce 3.10.16, Node 20) and
// prints one JSON summary line. Run by JsforceConformanceTests; inputs come from environment
// variables so the test controls the sandbox's data.
'use strict';

const jsforce = require('jsforce');

const base = process.env.SANDBOX_URL;
const clientId = process.env.SANDBOX_CLIENT_ID;
const clientSecret = process.env.SANDBOX_CLIENT_SECRET;
const singleId = process.env.SANDBOX_SINGLE_ID;
const batchIds = (process.env.SANDBOX_BATCH_IDS || '').split(',').filter(Boolean);
const emailPrefix = process.env.SANDBOX_EMAIL_PREFIX;

async function main() {
  const oauth2 = new jsforce.OAuth2({ loginUrl: base, clientId, clientSecret });
  const conn = new jsforce.Connection({
    oauth2,
    version: '64.0',
    // Client credentials issue no refresh token: on 401 jsforce calls this once and replays the request.
    refreshFn: async (_conn, callback) => {
      try {
        const token = await oauth2.requestToken({ grant_type: 'client_credentials' });
        callback(null, token.access_token, token);
      } catch (error) {
        callback(error);
      }
    },
  });
  const userInfo = await conn.authorize({ grant_type: 'client_credentials' });

  const single = await conn.sobject('Contact').update({ Id: singleId, HasOptedOutOfEmail: true });

  const paged = await conn.query(
    `SELECT Id, Email, HasOptedOutOfEmail, SystemModstamp FROM Contact WHERE Email LIKE '${emailPrefix}%' ORDER BY Email`,
    { autoFetch: true, maxFetch: 100000, headers: { 'Sforce-Query-Options': 'batchSize=200' } });

  const collection = await conn.sobject('Contact').update(
    batchIds.map((Id) => ({ Id, HasOptedOutOfEmail: true })), { allOrNone: false });

  // Revoke every session from outside, as an admin would; the next call must refresh and replay.
  await fetch(`${base}/sandbox/tokens/expire`, { method: 'POST' });
  const readBack = await conn.query(
    `SELECT Id, HasOptedOutOfEmail FROM Contact WHERE Id IN ('${batchIds.join("','")}')`);

  const retrieved = await conn.sobject('Contact').retrieve(singleId);
  const describe = await conn.sobject('Contact').describe();
  const limits = await conn.limits();

  let notFound = null;
  try {
    await conn.sobject('Contact').update({ Id: '003SB00000zzzzz', HasOptedOutOfEmail: true });
  } catch (error) {
    notFound = error.errorCode;
  }

  const summary = {
    organizationId: userInfo.organizationId,
    singleSuccess: single.success === true,
    pagedTotalSize: paged.totalSize,
    pagedRecords: paged.records.length,
    pagedDone: paged.done,
    pagedFirstEmail: paged.records.length ? paged.records[0].Email : null,
    collectionResults: collection.map((r) => ({ id: r.id, success: r.success })),
    readBackOptedOut: readBack.records.filter((r) => r.HasOptedOutOfEmail === true).length,
    retrievedOptedOut: retrieved.HasOptedOutOfEmail,
    describeFields: describe.fields.map((f) => f.name),
    dailyApiMax: limits.DailyApiRequests.Max,
    limitInfo: conn.limitInfo && conn.limitInfo.apiUsage,
    notFoundErrorCode: notFound,
  };
  console.log(JSON.stringify(summary));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
