"""Member numbers: ten digits, random, the last a Luhn check digit."""

import secrets


def luhn_check_digit(digits):
    """The Luhn check digit for a string of digits: it catches any single mistyped digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_member_number(number):
    return len(number) == 10 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def new_member_number():
    # Random rather than sequential, so that a number says nothing about how many members exist.
    body = str(secrets.randbelow(9 * 10**8) + 10**8)
    return body + luhn_check_digit(body)
