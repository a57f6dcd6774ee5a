import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../cli/doctor/envFile.js";

describe("azd environment files", () => {
  it("reads what azd writes: bare whole numbers, double quotes with backslash escapes and \\n line breaks", () => {
    // Lines as godotenv.Marshal writes them (azd's .azure/<env>/.env and `azd env get-values`).
    const text = [
      'AZURE_ENV_NAME="mailhook-prod"',
      "MAILBOX_MESSAGES_PER_MINUTE=30",
      'MAILHOOK_CLIENTS="[{\\"id\\":\\"scanners\\",\\"senders\\":[\\"*@contoso.com\\"]}]"',
      'ENTRA_CLIENT_SECRET="p\\$ss\\!w\\`rd\\\\x"',
      'ENTRA_CLIENT_CERTIFICATE="-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"',
      'SPF_RECORD="v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com ~all"',
    ].join("\n");
    expect(parseEnvFile(text)).toEqual({
      AZURE_ENV_NAME: "mailhook-prod",
      MAILBOX_MESSAGES_PER_MINUTE: "30",
      MAILHOOK_CLIENTS: '[{"id":"scanners","senders":["*@contoso.com"]}]',
      ENTRA_CLIENT_SECRET: "p$ss!w`rd\\x",
      ENTRA_CLIENT_CERTIFICATE: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
      SPF_RECORD: "v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com ~all",
    });
  });

  it("takes single-quoted and unquoted values as they are, and skips comments, blanks and export", () => {
    const text = "# comment\n\nexport A='x \\n y'\r\nB=plain # note\nnot a line\n";
    expect(parseEnvFile(text)).toEqual({ A: "x \\n y", B: "plain" });
  });
});
