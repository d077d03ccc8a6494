import SwiftASN1
import X509

/// The id a client certificate authenticates as: `x509:<subject DN>`, the DN written as ZooKeeper's
/// `X509AuthenticationProvider` writes it (`X500Principal.getName()`, RFC 2253): the RDNs last to
/// first, joined by `,` without blanks; attributes of one RDN joined by `+`; the RFC 2253 keywords
/// CN, C, L, ST, O, OU, STREET, DC and UID; any other attribute as its dotted OID and `#` with the hex
/// of its DER encoding (so an emailAddress reads `1.2.840.113549.1.9.1=#16…`).
enum X509Identity {
    /// The subject DN of a DER certificate in RFC 2253 form, or nil if it does not parse.
    static func subjectName(derEncoded der: [UInt8]) -> String? {
        guard let certificate = try? Certificate(derEncoded: der) else { return nil }
        return rfc2253(certificate.subject)
    }

    static func rfc2253(_ name: DistinguishedName) -> String {
        name.reversed().map { rdn in rdn.map(attributeText).joined(separator: "+") }.joined(separator: ",")
    }

    private static let keywords: [ASN1ObjectIdentifier: String] = [
        [2, 5, 4, 3]: "CN", [2, 5, 4, 6]: "C", [2, 5, 4, 7]: "L", [2, 5, 4, 8]: "ST", [2, 5, 4, 10]: "O",
        [2, 5, 4, 11]: "OU", [2, 5, 4, 9]: "STREET", [0, 9, 2342, 19_200_300, 100, 1, 25]: "DC",
        [0, 9, 2342, 19_200_300, 100, 1, 1]: "UID",
    ]

    static func attributeText(_ attribute: RelativeDistinguishedName.Attribute) -> String {
        if let keyword = keywords[attribute.type], let text = String(attribute.value) {
            return keyword + "=" + escaped(text)
        }
        // Dotted OIDs and values that are not printable, UTF-8 or IA5 strings: the DER bytes in hex.
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(ASN1Any(attribute.value))) != nil else {
            return attribute.type.description + "=" + attribute.value.description
        }
        return attribute.type.description + "=#" + hex(serializer.serializedBytes)
    }

    /// Java's non-canonical RFC 2253 escaping: a backslash before `, = + < > # ; " \`, and before a
    /// leading or trailing blank.
    static func escaped(_ text: String) -> String {
        let characters = Array(text)
        var lead = 0
        while lead < characters.count, characters[lead] == " " || characters[lead] == "\r" { lead += 1 }
        var trail = characters.count - 1
        while trail >= 0, characters[trail] == " " || characters[trail] == "\r" { trail -= 1 }
        var out = ""
        for (index, character) in characters.enumerated() {
            if ",=+<>#;\"\\".contains(character) || index < lead || index > trail { out.append("\\") }
            out.append(character)
        }
        return out
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var out = ""
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return out
    }
}
