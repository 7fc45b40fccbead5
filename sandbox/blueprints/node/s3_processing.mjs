import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

// /tmp is the only writable place (512 MB by default). It survives between warm invocations of
// the same execution environment, so clean up what you do not want to keep.
const TMP = "/tmp";

export const handler = async (event) => {
  const processed = [];
  for (const record of event.Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
    const size = record.s3.object.size;
    // There is no network in the sandbox, so pretend to download: write `size` bytes.
    const local = `${TMP}/${basename(key)}`;
    writeFileSync(local, randomBytes(Math.min(size, 5 * 1024 * 1024)));
    const digest = createHash("sha256").update(readFileSync(local)).digest("hex");
    const thumb = `${local}.thumb`;
    writeFileSync(thumb, digest);
    console.log(`processed s3://${bucket}/${key}: ${statSync(local).size} bytes`);
    unlinkSync(local);
    processed.push({ key, thumbnail: `thumbnails/${basename(thumb)}` });
  }
  console.log("files left in /tmp:", readdirSync(TMP).sort());
  return { processed };
};
