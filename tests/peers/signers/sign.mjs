// Signs GitHub webhook requests with GitHub's own library, npm `@octokit/webhooks-methods`
// (`sign`). Reads a JSON list of {secret, body, id} on stdin, writes a JSON list of header
// maps on stdout, in order.
import { sign } from "@octokit/webhooks-methods";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = [];
for (const req of JSON.parse(input)) {
  out.push({
    "X-Hub-Signature-256": await sign(req.secret, req.body),
    "X-GitHub-Delivery": req.id,
  });
}
process.stdout.write(JSON.stringify(out));
