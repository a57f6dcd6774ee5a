import { type CheckResult, fail, pass, warn } from "./result.js";

/**
 * The address the deployed app's mail actually leaves from against the NAT gateway's static IP. The egress
 * address cannot be read from the app itself (the NAT translates it beyond the instance, and asking an outside
 * "what is my IP" service from the app would add a dependency and an endpoint); what counts for SPF and for an
 * IP-based connector is the address Microsoft 365 saw, which every received message records (the CIP field of
 * X-Forefront-Antispam-Report; Microsoft Learn, "Anti-spam message headers in Microsoft 365",
 * https://learn.microsoft.com/defender-office-365/message-headers-eop-mdo). The user passes it as --egress-ip.
 */
export function checkEgress(options: {
  egressIp?: string;
  natIp?: string;
  usesDirectOrRelay: boolean;
}): CheckResult[] {
  const name = "egress";
  const { egressIp, natIp } = options;
  if (egressIp && natIp)
    return egressIp === natIp
      ? [pass(name, `mail leaves from ${egressIp}, the NAT gateway's public IP`)]
      : [
          fail(
            name,
            `mail leaves from ${egressIp}, not from the NAT gateway's public IP ${natIp}`,
            "Outbound traffic bypasses the NAT gateway: check that the Function App is integrated with the VNet " +
              "(virtualNetworkSubnetId) and that its subnet uses the NAT gateway; `azd provision` with " +
              "MAILHOOK_STATIC_OUTBOUND_IP=true sets both.",
          ),
        ];
  if (egressIp)
    return [
      warn(
        name,
        `mail leaves from ${egressIp}, but there is no NAT gateway IP to compare it with`,
        "Without the static outbound IP the app's outbound addresses are shared and change; SPF ip4: terms and " +
          "IP-based connectors need MAILHOOK_STATIC_OUTBOUND_IP=true (then pass --env-file or --static-ip).",
      ),
    ];
  if (natIp && options.usesDirectOrRelay)
    return [
      warn(
        name,
        `not checked: the address the app's mail leaves from is not known (the NAT gateway's is ${natIp})`,
        "Send one message with `mailhook send --wait`, read the connecting IP Microsoft 365 recorded (the CIP: " +
          "field of the X-Forefront-Antispam-Report header of the received message) and pass --egress-ip <ip>.",
      ),
    ];
  return [];
}
