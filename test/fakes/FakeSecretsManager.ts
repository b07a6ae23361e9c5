import { createServer, type Server } from "node:http"

/**
 * A loopback stand-in for AWS Secrets Manager's GetSecretValue (JSON 1.1 protocol): enough for the SDK's
 * endpoint override. Secrets are given by name; an unknown name answers ResourceNotFoundException.
 */
export const startFakeSecretsManager = async (secrets: Record<string, string>) => {
  const requests: Array<{ target: string; secretId: string }> = []
  const server: Server = createServer((request, response) => {
    let body = ""
    request.on("data", (chunk) => {
      body += chunk
    })
    request.on("end", () => {
      const target = String(request.headers["x-amz-target"] ?? "")
      const secretId = String((JSON.parse(body || "{}") as { SecretId?: string }).SecretId ?? "")
      requests.push({ target, secretId })
      response.setHeader("content-type", "application/x-amz-json-1.1")
      if (target !== "secretsmanager.GetSecretValue") {
        response.statusCode = 400
        response.end(JSON.stringify({ __type: "InvalidRequestException", message: `unsupported ${target}` }))
        return
      }
      const secret = secrets[secretId]
      if (secret === undefined) {
        response.statusCode = 400
        response.end(
          JSON.stringify({ __type: "ResourceNotFoundException", message: "Secrets Manager can't find the secret." })
        )
        return
      }
      response.end(
        JSON.stringify({
          ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}`,
          Name: secretId,
          SecretString: secret,
          VersionId: "v1"
        })
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
