import pytest
from cryptography.fernet import Fernet

from integrations.secrets import SecretUnreadable, decrypt, encrypt


def test_a_secret_is_stored_encrypted_and_read_back() -> None:
    token = encrypt("app-password-123")
    assert "app-password-123" not in token
    assert decrypt(token) == "app-password-123"


def test_an_older_key_still_decrypts_after_rotation(settings) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CALENDAR_SECRET_KEYS = [old]
    token = encrypt("s3cret")
    settings.CALENDAR_SECRET_KEYS = [new, old]
    assert decrypt(token) == "s3cret"
    settings.CALENDAR_SECRET_KEYS = [new]
    with pytest.raises(SecretUnreadable):
        decrypt(token)
