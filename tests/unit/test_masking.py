"""Personal data masks, as staff and logs see them."""

from referral_service.masking import mask_id_number, mask_name, mask_phone, mask_text


def test_masks_match_the_published_examples():
    assert mask_name("刘某某") == "刘**"
    assert mask_id_number("440106198503151233") == "440106********1233"
    assert mask_phone("13800138000") == "138****8000"


def test_free_text_masks_ids_and_mobiles_but_not_amounts():
    text = "party 440106198503151233 phone 13800138000 owes 58210.35"
    assert mask_text(text) == "party 440106********1233 phone 138****8000 owes 58210.35"
