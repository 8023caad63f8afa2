/// A vehicle identification number checked as ISO 3779 / GB 16735 require:
/// 17 characters of A-Z and 0-9 without I, O and Q, and a valid check digit in
/// position 9.
public struct VIN: Hashable, Sendable, CustomStringConvertible {
    public let value: String

    public enum Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        case length(Int)
        case forbiddenLetter(Character, position: Int)
        case invalidCharacter(Character, position: Int)
        case checkDigit(expected: Character, found: Character)

        public var description: String {
            switch self {
            case .length(let count):
                "a VIN has 17 characters, this one \(count)"
            case .forbiddenLetter(let letter, let position):
                "the letter \(letter) at position \(position) is not used in VINs (I, O and Q are forbidden)"
            case .invalidCharacter(let character, let position):
                "the character \(character) at position \(position) is not A-Z or 0-9"
            case .checkDigit(let expected, let found):
                "the check digit (position 9) is \(found) but the other characters make it \(expected)"
            }
        }

        /// A short machine name for the failed rule.
        public var rule: String {
            switch self {
            case .length: "length"
            case .forbiddenLetter: "forbidden-letter"
            case .invalidCharacter: "invalid-character"
            case .checkDigit: "check-digit"
            }
        }
    }

    static let weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]

    /// Transliteration of letters to numbers (digits stand for themselves).
    static func transliterate(_ character: Character) -> Int? {
        if let digit = character.wholeNumberValue, character.isASCII { return digit }
        switch character {
        case "A", "J": return 1
        case "B", "K", "S": return 2
        case "C", "L", "T": return 3
        case "D", "M", "U": return 4
        case "E", "N", "V": return 5
        case "F", "W": return 6
        case "G", "P", "X": return 7
        case "H", "Y": return 8
        case "R", "Z": return 9
        default: return nil
        }
    }

    /// Accepts lower case and surrounding blanks, as people type them, and keeps the
    /// canonical upper-case form.
    public init(_ text: String) throws(Invalid) {
        let characters = Array(text.trimmingWhitespace().uppercased())
        guard characters.count == 17 else { throw .length(characters.count) }
        var sum = 0
        for (index, character) in characters.enumerated() {
            if character == "I" || character == "O" || character == "Q" {
                throw .forbiddenLetter(character, position: index + 1)
            }
            guard character.isASCII, let value = Self.transliterate(character) else {
                throw .invalidCharacter(character, position: index + 1)
            }
            sum += value * Self.weights[index]
        }
        let remainder = sum % 11
        let expected: Character = remainder == 10 ? "X" : Character(String(remainder))
        guard characters[8] == expected else { throw .checkDigit(expected: expected, found: characters[8]) }
        value = String(characters)
    }

    public var description: String { value }
}

extension String {
    func trimmingWhitespace() -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
