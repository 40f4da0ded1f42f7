package io.egressguard.cel;

/** Go's {@code strconv.Quote}, so that error messages read exactly like the ones a Kubernetes API server returns. */
final class GoStrings {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private GoStrings() {
    }

    /** Quotes {@code s} as Go's {@code strconv.Quote} does: double quotes, Go escapes, non-printable runes escaped. */
    static String quote(String s) {
        StringBuilder out = new StringBuilder(s.length() + 2);
        out.append('"');
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            appendRune(out, cp);
        }
        return out.append('"').toString();
    }

    private static void appendRune(StringBuilder out, int cp) {
        switch (cp) {
            case '"':
                out.append("\\\"");
                return;
            case '\\':
                out.append("\\\\");
                return;
            case 0x07:
                out.append("\\a");
                return;
            case '\b':
                out.append("\\b");
                return;
            case '\f':
                out.append("\\f");
                return;
            case '\n':
                out.append("\\n");
                return;
            case '\r':
                out.append("\\r");
                return;
            case '\t':
                out.append("\\t");
                return;
            case 0x0b:
                out.append("\\v");
                return;
            default:
                break;
        }
        if (cp <= 0xffff && Character.isSurrogate((char) cp)) {
            // An unpaired surrogate is not valid UTF-8; Go would have decoded it as U+FFFD.
            out.append('\ufffd');
        } else if (isPrint(cp)) {
            out.appendCodePoint(cp);
        } else if (cp < 0x80) {
            out.append("\\x").append(HEX[cp >> 4]).append(HEX[cp & 0xf]);
        } else if (cp <= 0xffff) {
            appendHex(out.append("\\u"), cp, 4);
        } else {
            appendHex(out.append("\\U"), cp, 8);
        }
    }

    private static void appendHex(StringBuilder out, int value, int digits) {
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
            out.append(HEX[(value >> shift) & 0xf]);
        }
    }

    /** Go's {@code strconv.IsPrint}: letters, marks, numbers, punctuation, symbols and the ASCII space. */
    private static boolean isPrint(int cp) {
        if (cp == ' ') {
            return true;
        }
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER:
            case Character.LOWERCASE_LETTER:
            case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER:
            case Character.OTHER_LETTER:
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.COMBINING_SPACING_MARK:
            case Character.DECIMAL_DIGIT_NUMBER:
            case Character.LETTER_NUMBER:
            case Character.OTHER_NUMBER:
            case Character.CONNECTOR_PUNCTUATION:
            case Character.DASH_PUNCTUATION:
            case Character.START_PUNCTUATION:
            case Character.END_PUNCTUATION:
            case Character.INITIAL_QUOTE_PUNCTUATION:
            case Character.FINAL_QUOTE_PUNCTUATION:
            case Character.OTHER_PUNCTUATION:
            case Character.MATH_SYMBOL:
            case Character.CURRENCY_SYMBOL:
            case Character.MODIFIER_SYMBOL:
            case Character.OTHER_SYMBOL:
                return true;
            default:
                return false;
        }
    }
}
