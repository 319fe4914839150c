//! A recording HTTP/1.1 proxy for AWS calls: put it between the deployer and ministack
//! (`AWS_ENDPOINT_URL` = the proxy) and it forwards every request while noting the IAM
//! action it needs: `cloudformation:CreateChangeSet` from a query-protocol form body,
//! `secretsmanager:GetSecretValue` from an `X-Amz-Target`, S3 from the method and path,
//! the service from the SigV4 credential scope. A request it cannot name is noted as
//! `<service>:?<METHOD> <path>`, which no policy allows.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug)]
pub struct Recorder {
    /// The proxy's URL, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    actions: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Starts a proxy to `upstream` (`http://host:port`) on a free loopback port; it runs
    /// until the test binary exits.
    pub fn start(upstream: &str) -> Recorder {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// upstream")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let actions = Arc::new(Mutex::new(Vec::new()));
        let noted = actions.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, noted) = (upstream.clone(), noted.clone());
                std::thread::spawn(move || serve(client, &upstream, &noted));
            }
        });
        Recorder { endpoint, actions }
    }

    /// The actions noted so far, each once, and forgets them.
    pub fn take(&self) -> BTreeSet<String> {
        let mut noted = self.actions.lock().unwrap();
        noted.drain(..).collect()
    }
}

/// One HTTP message: its head (start line and headers) and its body as framed on the wire.
#[derive(Debug)]
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head and body, with `Connection: <connection>`.
    fn to_bytes(&self, connection: &str) -> Vec<u8> {
        let mut out = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if !k.eq_ignore_ascii_case("connection") {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str(&format!("Connection: {connection}\r\n\r\n"));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// Reads a request from `r` (`None` at the end of the connection). Bodies are framed by
/// Content-Length; a chunked request body fails the test (the deployer sends none).
fn read_request(r: &mut impl BufRead) -> Option<Message> {
    let (start, headers) = read_head(r)?;
    let msg = Message {
        start,
        headers,
        body: Vec::new(),
    };
    assert!(
        msg.header("transfer-encoding").is_none(),
        "the recorder does not forward chunked request bodies: {}",
        msg.start
    );
    let len: usize = msg
        .header("content-length")
        .map_or(0, |l| l.trim().parse().unwrap());
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Message { body, ..msg })
}

fn read_head(r: &mut impl BufRead) -> Option<(String, Vec<(String, String)>)> {
    let mut start = String::new();
    if r.read_line(&mut start).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Some((start.trim_end().to_owned(), headers))
}

/// Forwards each request of one client connection, on a new upstream connection each.
fn serve(client: TcpStream, upstream: &str, noted: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let mut writer = client.try_clone().expect("a second handle on the socket");
    let mut reader = BufReader::new(client);
    while let Some(request) = read_request(&mut reader) {
        noted.lock().unwrap().push(action(&request));
        let mut up = TcpStream::connect(upstream).expect("the upstream answers");
        up.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        up.write_all(&request.to_bytes("close")).unwrap();
        // The upstream closes after its answer: it ends at the end of the stream.
        let mut raw = Vec::new();
        up.read_to_end(&mut raw).unwrap();
        let mut answer = BufReader::new(raw.as_slice());
        let (start, mut headers) = read_head(&mut answer).expect("an HTTP answer");
        let mut body = Vec::new();
        answer.read_to_end(&mut body).unwrap();
        let framed = headers.iter().any(|(k, _)| {
            k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
        });
        if !framed {
            headers.push(("Content-Length".to_owned(), body.len().to_string()));
        }
        let response = Message {
            start,
            headers,
            body,
        };
        if writer.write_all(&response.to_bytes("keep-alive")).is_err() {
            return;
        }
    }
}

/// The IAM action a request needs.
fn action(request: &Message) -> String {
    let service = request
        .header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_owned();
    let mut parts = request.start.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    if let Some(t) = request.header("x-amz-target") {
        let op = t.rsplit('.').next().unwrap_or(t);
        return format!("{service}:{op}");
    }
    let form = String::from_utf8_lossy(&request.body);
    if let Some(op) = form
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return format!("{service}:{op}");
    }
    if service == "s3"
        && let Some(op) = s3_action(method, target)
    {
        return format!("s3:{op}");
    }
    format!("{service}:?{method} {target}")
}

/// The IAM action of an S3 object or bucket request (path-style), when it is one of those
/// the deployer sends; the SDK names most operations in an `x-id` query parameter.
fn s3_action(method: &str, target: &str) -> Option<&'static str> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let object = path.trim_start_matches('/').contains('/');
    // No query at all, or the operation's name in `x-id`; other queries are not named here.
    let id = match query {
        "" => None,
        q => Some(q.split('&').find_map(|p| p.strip_prefix("x-id="))?),
    };
    match (method, object, id) {
        ("GET", true, Some("GetObject") | None) | ("HEAD", true, None) => Some("GetObject"),
        ("PUT", true, Some("PutObject") | None) => Some("PutObject"),
        ("GET", false, Some("ListObjectsV2")) => Some("ListBucket"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(start: &str, headers: &[(&str, &str)], body: &str) -> Message {
        Message {
            start: start.to_owned(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    const CFN: (&str, &str) = (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0",
    );
    const S3: (&str, &str) = (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0",
    );

    #[test]
    fn requests_are_named_by_the_action_they_need() {
        let q = request(
            "POST / HTTP/1.1",
            &[CFN],
            "Action=DescribeStacks&Version=2010-05-15&StackName=x",
        );
        assert_eq!(action(&q), "cloudformation:DescribeStacks");
        let get = request(
            "GET /bucket/deployments/x.json?x-id=GetObject HTTP/1.1",
            &[S3],
            "",
        );
        assert_eq!(action(&get), "s3:GetObject");
        let put = request(
            "PUT /bucket/assets/a.zip?x-id=PutObject HTTP/1.1",
            &[S3],
            "",
        );
        assert_eq!(action(&put), "s3:PutObject");
        let tagging = request("GET /bucket/assets/a.zip?tagging HTTP/1.1", &[S3], "");
        assert_eq!(action(&tagging), "s3:?GET /bucket/assets/a.zip?tagging");
        let head = request("HEAD /bucket/assets/a.zip HTTP/1.1", &[S3], "");
        assert_eq!(action(&head), "s3:GetObject");
        let delete = request("DELETE /bucket/assets/a.zip HTTP/1.1", &[S3], "");
        assert_eq!(action(&delete), "s3:?DELETE /bucket/assets/a.zip");
        let json = request(
            "POST / HTTP/1.1",
            &[("X-Amz-Target", "secretsmanager.GetSecretValue")],
            "{}",
        );
        assert_eq!(action(&json), "unsigned:GetSecretValue");
    }
}
